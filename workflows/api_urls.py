from __future__ import annotations

from django.urls import URLPattern

# Mounted under api/v1/ by config.urls.
urlpatterns: list[URLPattern] = []
