"""The data side of a terminal: feed contract, trust, fetch, media and the offline store.

Pure Python on purpose: it never imports Kivy, so a cron job, a test or the county's
own tools can use it without a display.
"""
