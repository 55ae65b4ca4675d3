from __future__ import annotations

from ninja import Router

router = Router(tags=["openai_compatible"])
