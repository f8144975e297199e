"""Serve Bootstrap from the installed xstatic-bootstrap package (no CDN, no copy in the repo)."""

from django.contrib.staticfiles.finders import BaseFinder
from django.contrib.staticfiles.utils import get_files
from django.core.files.storage import FileSystemStorage
from xstatic.pkg import bootstrap

PREFIX = "bootstrap"


class XStaticFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        self.storage = FileSystemStorage(location=bootstrap.BASE_DIR)
        self.storage.prefix = PREFIX

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if not path.startswith(PREFIX + "/"):
            return [] if find_all else None
        match = self.storage.path(path[len(PREFIX) + 1 :])
        if not self.storage.exists(path[len(PREFIX) + 1 :]):
            return [] if find_all else None
        return [match] if find_all else match

    def list(self, ignore_patterns):
        for path in get_files(self.storage, ignore_patterns):
            yield path, self.storage
