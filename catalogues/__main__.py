import sys

from catalogues.maintenance import main

sys.exit(main())
