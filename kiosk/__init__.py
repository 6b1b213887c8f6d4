"""The Walkin touchscreen kiosk (issue #4). See docs/kiosk.md.

``kiosk.app.main(argv)`` is ``walkin kiosk``; importing this package imports no Kivy.
"""
