"""One blueprint per domain; ``create_app`` registers them all."""

from __future__ import annotations

from flask_openapi3.blueprint import APIBlueprint

from alchemy_patterns.web.api import accounts, audit, clinic, health, school, shop, social

BLUEPRINTS: list[APIBlueprint] = [
    health.bp,
    accounts.bp,
    shop.bp,
    audit.bp,
    clinic.bp,
    social.bp,
    school.bp,
]
