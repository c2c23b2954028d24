"""The signing key on the emulated SSM: made once on first use, the same for every container,
even when several make it at the same moment."""

from __future__ import annotations

import threading
import uuid

from aws_lambda_powertools.utilities import parameters

from siyu.storage.signing_key import SigningKey


def test_the_first_use_makes_one_key_that_every_container_then_reads(stack):
    name = f"/siyu/test-{uuid.uuid4().hex}/signing-key"
    keys: list[bytes] = []
    barrier = threading.Barrier(6)

    def container() -> None:
        barrier.wait()
        keys.append(SigningKey(name).get())

    threads = [threading.Thread(target=container) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 6 and len(set(keys)) == 1 and len(keys[0]) == 32
    parameters.get_parameter(name, decrypt=True, force_fetch=True)  # it is stored, as a SecureString
    assert SigningKey(name).get() == keys[0]
