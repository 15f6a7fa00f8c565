"""stepfn.clock: ids as the standard library would make them."""

from __future__ import annotations

import random
import uuid

from stepfn.clock import IdSource, uuid4_text


def test_uuid4_text_is_what_uuid_writes_for_the_same_bits() -> None:
    bits = random.Random(5)
    samples = [0, (1 << 128) - 1] + [bits.getrandbits(128) for _ in range(5000)]
    for value in samples:
        assert uuid4_text(value) == str(uuid.UUID(int=value, version=4))


def test_an_id_source_gives_version_4_uuids_and_a_seed_repeats_them() -> None:
    made = [IdSource(11).uuid() for _ in range(3)]
    assert len(set(made)) == 1  # one seed, one first id
    parsed = uuid.UUID(made[0])
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    source = IdSource()
    assert len({source.uuid() for _ in range(1000)}) == 1000
