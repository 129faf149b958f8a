-- bg_matching_hash(text): HMAC-SHA256 of the text under the matching key, as hex (bountyguard/matching_keys.py).
-- The key's inner and outer pads are connection variables set by matching_keys.register, never text here.
CREATE OR REPLACE TEMP MACRO bg_matching_hash(value) AS
    sha256(getvariable('bg_matching_opad') || unhex(sha256(getvariable('bg_matching_ipad') || encode(value))));
