"""The password policy (NIST SP 800-63B: length, blocklist, no composition rules) and hashing."""

from __future__ import annotations

import pickle
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fukaiji.staff.errors import PasswordFault, PasswordPolicyError
from fukaiji.staff.passwords import (
    COMMON_PASSWORDS,
    MAX_LENGTH,
    MIN_DISTINCT_CHARACTERS,
    MIN_LENGTH,
    check_password_policy,
    dummy_hash,
    hash_password,
    is_common_password,
    needs_rehash,
    verify_password,
)


def faults_of(password: str, username: str = "tanaka") -> set[PasswordFault]:
    with pytest.raises(PasswordPolicyError) as raised:
        check_password_policy(password, username)
    return set(raised.value.faults)


@pytest.mark.parametrize(
    ("password", "fault"),
    [
        ("kumo-sora-9", PasswordFault.TOO_SHORT),
        ("a" + "bcdefghij" * 15, PasswordFault.TOO_LONG),
        ("my-TANAKA-password", PasswordFault.CONTAINS_USERNAME),
        ("abababababababab", PasswordFault.TOO_FEW_DISTINCT),
        ("Password1234", PasswordFault.TOO_COMMON),
        ("qwertyuiopas", PasswordFault.TOO_COMMON),
    ],
)
def test_each_fault_is_reported_alone(password: str, fault: PasswordFault) -> None:
    assert faults_of(password) == {fault}


def test_every_fault_is_listed_at_once_with_field_and_rule_in_both_languages() -> None:
    with pytest.raises(PasswordPolicyError) as raised:
        check_password_policy("tanaka-9", "tanaka")
    error = raised.value
    assert set(error.faults) == {
        PasswordFault.TOO_SHORT,
        PasswordFault.CONTAINS_USERNAME,
    }
    assert error.field == "password"
    assert error.message.startswith("パスワード: 12 文字以上が必要です")
    assert "(password must be at least 12 characters)" in error.message
    assert "(password must not contain the username)" in error.message
    assert "tanaka-9" not in error.message


def test_four_distinct_characters_are_too_few_and_short_is_also_reported() -> None:
    assert faults_of("aabbccdd") == {PasswordFault.TOO_SHORT, PasswordFault.TOO_FEW_DISTINCT}


def test_no_composition_rules_a_long_lower_case_phrase_passes() -> None:
    check_password_policy("correct horse battery staple", "tanaka")


def test_japanese_passphrases_pass() -> None:
    check_password_policy("春はあけぼのやうやう白くなりゆく", "tanaka")


def test_full_width_is_the_same_password_as_half_width() -> None:
    # NFKC: a password typed with the IME in full-width mode still matches, and is still common.
    assert faults_of("ｐａｓｓｗｏｒｄ１２３４") == {PasswordFault.TOO_COMMON}
    stored = hash_password("kasumigaseki-2026")
    assert verify_password(stored, "ｋａｓｕｍｉｇａｓｅｋｉ－２０２６")


def test_the_blocklist_holds_only_passwords_the_length_rule_would_let_through() -> None:
    assert all(len(password) >= MIN_LENGTH for password in COMMON_PASSWORDS)
    assert all(password == password.casefold() for password in COMMON_PASSWORDS)


def test_errors_survive_pickling() -> None:
    with pytest.raises(PasswordPolicyError) as raised:
        check_password_policy("short", "tanaka")
    copy = pickle.loads(pickle.dumps(raised.value))  # noqa: S301  our own bytes
    assert copy.message == raised.value.message
    assert copy.faults == raised.value.faults


usernames = st.from_regex(r"[a-z0-9._-]{3,64}", fullmatch=True)


@given(raw=st.text(min_size=MIN_LENGTH, max_size=MAX_LENGTH), username=usernames)
def test_any_long_varied_uncommon_password_without_the_username_passes(
    raw: str, username: str
) -> None:
    # The policy judges the NFKC form (as it hashes it), so the property is stated over it.
    password = unicodedata.normalize("NFKC", raw)
    assume(MIN_LENGTH <= len(password) <= MAX_LENGTH)
    assume(len(set(password)) >= MIN_DISTINCT_CHARACTERS)
    assume(username.casefold() not in password.casefold())
    assume(not is_common_password(password))
    check_password_policy(password, username)


@given(password=st.text(max_size=MIN_LENGTH - 1), username=usernames)
def test_any_shorter_password_is_refused_for_its_length(password: str, username: str) -> None:
    assume(len(unicodedata.normalize("NFKC", password)) < MIN_LENGTH)
    with pytest.raises(PasswordPolicyError) as raised:
        check_password_policy(password, username)
    assert PasswordFault.TOO_SHORT in raised.value.faults


def test_hashes_are_argon2id_salted_and_verify() -> None:
    first, second = hash_password("kasumigaseki-2026"), hash_password("kasumigaseki-2026")
    assert first.startswith("$argon2id$")
    assert first != second
    assert verify_password(first, "kasumigaseki-2026")
    assert not verify_password(first, "kasumigaseki-2027")
    assert not verify_password("not a hash", "kasumigaseki-2026")
    assert not needs_rehash(first)


def test_the_dummy_hash_for_unknown_users_costs_what_a_real_one_costs() -> None:
    assert not needs_rehash(dummy_hash())
    assert not verify_password(dummy_hash(), "")


def test_a_hash_with_weaker_parameters_needs_rehash() -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("x")
    assert needs_rehash(weak)
