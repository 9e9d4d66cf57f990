"""A hand-written valid profile and Confluent-framed encoding, shared by tests."""

from __future__ import annotations

import datetime as dt
import io
import struct
from decimal import Decimal

import fastavro


def valid_profile(user_id: int = 1001, **changes) -> dict:
    profile = {
        "user_id": user_id, "first_name": "Ada", "last_name": "Lovelace",
        "email": "ada.lovelace@example.org", "phone_number": "(617) 555-0101",
        "address": "12 Beacon Street", "city": "Boston", "state": "Massachusetts",
        "country": "United States", "zip_code": "02134",
        "date_of_birth": dt.date(1985, 12, 10), "gender": "Female", "nationality": "British",
        "occupation": "Engineer", "company_name": "Analytical Engines Ltd",
        "website": "https://ada.example.org", "account_balance": Decimal("1234.50"),
        "credit_score": 780, "registration_date": dt.date(2015, 3, 1),
        "last_login": dt.datetime(2024, 2, 29, 13, 45, 10, tzinfo=dt.timezone.utc),
        "subscription_status": "Active", "subscription_type": "Premium",
        "profile_picture_url": "https://img.example.org/ada.png",
        "social_security_number": "123-45-6789", "passport_number": "X1234567",
        "driver_license_number": "S123-4567-8901", "marital_status": "Married",
        "children_count": 2, "emergency_contact_name": "Charles Babbage",
        "emergency_contact_number": "(617) 555-0199", "medical_conditions": None,
        "blood_type": "O+", "allergies": "Peanuts", "favorite_color": "Blue",
        "favorite_food": "Pasta", "favorite_movie": "Metropolis",
        "favorite_music_genre": "Classical", "favorite_sport": "Rowing", "hobby": "Chess",
        "pet_name": "Fido", "pet_type": "Dog", "pet_breed": "Beagle", "pet_age": 4,
        "vehicle_make": "Toyota", "vehicle_model": "Corolla", "vehicle_year": 2019,
        "license_plate_number": "7ABC123", "insurance_provider": "Acme Mutual",
        "insurance_policy_number": "POL-0012345",
    }
    profile.update(changes)
    return profile


def frame(schema_id: int, parsed_schema, record: dict) -> bytes:
    """Encode `record` in the Confluent wire format: magic byte, schema id, Avro body."""
    body = io.BytesIO()
    fastavro.schemaless_writer(body, parsed_schema, record)
    return struct.pack(">bI", 0, schema_id) + body.getvalue()
