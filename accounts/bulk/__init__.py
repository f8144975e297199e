"""The bulk status change (SPEC §5): one request for many accounts, checked by a dry run, then run in the
background through the engine's batch path. services.py does the work; views.py and api.py are its pages
and API; the models (BulkStatusJob, BulkStatusItem) are the app's."""
