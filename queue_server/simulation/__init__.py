"""Days of a centre lived on a virtual clock through the real core.

``profiles`` holds what a day is made of, as data (arrivals by weekday and hour, the
service mix, visit lengths and outcomes, booked visitors' habits, the staff rota);
``day`` lives one day through ``core.Centre`` (``decide`` then ``apply``, as the
server does), the centre's policy and hours coming from its configuration;
``history`` commits weeks of such days through the store, for ``walkin history
generate`` and the demo. Nothing here does I/O except ``history`` (the store).
"""

#: changes whenever the same seed would give different days (a cached history made by
#: an older generator is then rebuilt)
HISTORY_VERSION = 1
