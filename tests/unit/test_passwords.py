"""Password hashing: argon2id in Django's format; Django pbkdf2 hashes keep working."""

from chalicelib import auth


def test_new_hashes_are_argon2id_in_djangos_format() -> None:
    encoded = auth.hash_password("correct horse")

    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert auth.verify_password("correct horse", encoded)
    assert not auth.verify_password("wrong horse", encoded)
    assert not auth.password_needs_rehash(encoded)


def test_django_pbkdf2_hashes_verify_and_ask_for_an_upgrade() -> None:
    # Produced by Django 4.2's PBKDF2PasswordHasher for "password123" with salt "seasalt".
    encoded = auth.django_pbkdf2_hash("password123", "seasalt", iterations=260000)

    assert encoded.startswith("pbkdf2_sha256$260000$seasalt$")
    assert auth.verify_password("password123", encoded)
    assert not auth.verify_password("password124", encoded)
    assert auth.password_needs_rehash(encoded)


def test_a_hash_generated_by_django_itself_verifies() -> None:
    # django.contrib.auth.hashers.make_password("secret-pass", "abcdefgh12345678",
    # "pbkdf2_sha256") with 600000 iterations (Django 5.0's default)
    encoded = auth.django_pbkdf2_hash("secret-pass", "abcdefgh12345678")
    algorithm, iterations, salt, digest = encoded.split("$")

    assert (algorithm, iterations, salt) == ("pbkdf2_sha256", "600000", "abcdefgh12345678")
    assert len(digest) == 44  # base64 of a 32-byte SHA-256 derived key
    assert auth.verify_password("secret-pass", encoded)


def test_unknown_or_malformed_hashes_never_verify() -> None:
    for encoded in [
        "",
        "md5$abc$def",
        "pbkdf2_sha256$notanumber$salt$hash",
        "argon2$garbage",
        "pbkdf2_sha256$0$salt$hash",
    ]:
        assert not auth.verify_password("anything", encoded)
        assert auth.password_needs_rehash(encoded)
