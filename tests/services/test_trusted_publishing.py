"""Trusted publishing's token exchange on the fakes: what mints a token, and every refusal."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from joserfc.jwk import RSAKey

from chalicelib import wiring
from chalicelib.domain.errors import AuthenticationError, NotFoundError
from chalicelib.domain.identity import IssuerKind
from chalicelib.domain.trusted_publishers import MintRefused, PublisherRequest
from chalicelib.settings import Settings
from tests.conftest import EPOCH, FakeClock
from tests.fakes import StaticIssuerDocuments, memory_stores
from tests.oidc_issuer import OWNER_ID, REPOSITORY, WORKFLOW, TestIssuer

GITHUB = "https://token.actions.githubusercontent.com"
NOW = int(EPOCH.timestamp())


@pytest.fixture
def world():
    clock = FakeClock(EPOCH)
    github, gitlab = TestIssuer(GITHUB), TestIssuer("https://gitlab.example.com")
    documents = StaticIssuerDocuments({**github.documents(), **gitlab.documents()})
    stores, _, _ = memory_stores()
    settings = Settings(
        queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
        table_name="t",
        bucket_name="b",
        oidc_audience="wharf-acme",
    )
    wharf = wiring.build(settings, clock=clock, stores=stores, issuer_documents=documents)
    return wharf, clock, github, gitlab, documents


def register_github(wharf, **overrides):
    fields = {
        "kind": "github",
        "repository": REPOSITORY,
        "repository_owner_id": OWNER_ID,
        "workflow": WORKFLOW,
        "projects": ["acme-*"],
        **overrides,
    }
    return wharf.trusted_publishing.register(PublisherRequest(**fields))


def refused(wharf, token) -> tuple[str, str]:
    with pytest.raises(MintRefused) as caught:
        wharf.trusted_publishing.mint(token)
    return caught.value.code, caught.value.description


def test_a_matching_github_token_mints_a_short_lived_upload_token(world):
    wharf, clock, github, _, _ = world
    publisher = register_github(wharf, may_publish=False)
    minted = wharf.trusted_publishing.mint(github.sign(github.github_claims(NOW, "wharf-acme")))
    principal = wharf.tokens.authenticate(minted.issued.secret)
    assert principal.can_upload("acme-tools") and not principal.can_upload("other")
    assert principal.may_publish is False
    assert principal.publisher.publisher_id == publisher.id
    assert principal.publisher.kind is IssuerKind.GITHUB
    assert (principal.publisher.repository, principal.publisher.workflow) == (REPOSITORY, WORKFLOW)
    assert (principal.publisher.ref, principal.publisher.run_id) == ("refs/tags/v1.0", "123456")
    assert minted.claims["job_workflow_ref"].endswith("release.yml@refs/tags/v1.0")
    assert minted.issued.record.expires_at == EPOCH + timedelta(minutes=15)
    # Stored hashed like every other token, and listed with the others.
    assert minted.issued.secret not in repr(wharf.stores.tokens.get_by_id(minted.issued.record.id))
    clock.advance(minutes=15)
    with pytest.raises(AuthenticationError):
        wharf.tokens.authenticate(minted.issued.secret)


def test_gitlab_publisher_with_environment(world):
    wharf, _, _, gitlab, _ = world
    wharf.trusted_publishing.register(
        PublisherRequest(
            kind="gitlab",
            issuer=gitlab.url,
            repository="acme/tools",
            workflow=".gitlab-ci.yml",
            environment="release",
            projects=["acme-tools"],
        )
    )
    claims = gitlab.gitlab_claims(NOW, "wharf-acme", environment="release")
    principal = wharf.tokens.authenticate(
        wharf.trusted_publishing.mint(gitlab.sign(claims)).issued.secret
    )
    assert principal.publisher.repository == "acme/tools"
    assert principal.publisher.run_id == "777" and principal.may_publish
    staging = gitlab.gitlab_claims(NOW, "wharf-acme", environment="staging")
    assert refused(wharf, gitlab.sign(staging))[0] == "invalid-publisher"
    other_config = gitlab.gitlab_claims(NOW, "wharf-acme", environment="release", config="x.yml")
    assert refused(wharf, gitlab.sign(other_config))[0] == "invalid-publisher"


def test_another_issuer_is_matched_by_its_pinned_claims(world):
    wharf, _, _, gitlab, _ = world
    wharf.trusted_publishing.register(
        PublisherRequest(
            kind="other", issuer=gitlab.url, claims={"sub": "ci:acme"}, projects=["acme-*"]
        )
    )
    base = {"iss": gitlab.url, "aud": "wharf-acme", "iat": NOW, "exp": NOW + 60}
    good = gitlab.sign({**base, "sub": "ci:acme", "jti": "1"})
    assert wharf.trusted_publishing.mint(good).publisher.kind is IssuerKind.OTHER
    assert refused(wharf, gitlab.sign({**base, "sub": "ci:evil", "jti": "2"}))[0] == (
        "invalid-publisher"
    )


NO_PUBLISHER = ("invalid-publisher", "valid token, but no corresponding publisher")


@pytest.mark.parametrize(
    "overrides",
    [
        {"repository": "evil/tools"},
        {"repository_owner_id": "666"},  # the owner was deleted and the name taken again
        {"job_workflow_ref": "acme/tools/.github/workflows/other.yml@refs/tags/v1.0"},
        {"job_workflow_ref": "acme/tools/.github/workflows/release.yml@refs/heads/evil"},
        {"job_workflow_ref": "evil/shared/.github/workflows/release.yml@refs/heads/main"},
        {"event_name": "pull_request_target"},
        {"environment": "staging"},
        {"environment": None},
        {"ref": "refs/heads/main"},
    ],
    ids=lambda o: f"{next(iter(o))}={next(iter(o.values()))}",
)
def test_claims_of_another_ci_identity_find_no_publisher(world, overrides):
    wharf, _, github, _, _ = world
    register_github(wharf, environment="pypi", ref="refs/tags/v*")
    claims = github.github_claims(NOW, "wharf-acme", environment="pypi")
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    # The same answer whichever claim differs: nothing tells a prober what almost matched.
    assert refused(wharf, github.sign(claims)) == NO_PUBLISHER


def test_environment_and_ref_are_optional_and_case_rules_follow_pypi(world):
    wharf, _, github, _, _ = world
    register_github(wharf, environment="PyPI")
    claims = github.github_claims(NOW, "wharf-acme", environment="pypi", repository="ACME/Tools")
    claims["job_workflow_ref"] = "ACME/Tools/.github/workflows/release.yml@refs/tags/v1.0"
    assert wharf.trusted_publishing.mint(github.sign(claims)).identity.environment == "pypi"


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "wrong-audience",
        "audience-list",
        "other-key",
        "future-iat",
        "not-yet",
        "no-jti",
        "valid-for-years",
        "huge-exp",
    ],
)
def test_tokens_that_fail_verification(world, case):
    wharf, _, github, _, _ = world
    register_github(wharf)
    claims = github.github_claims(NOW, "wharf-acme")
    key = None
    if case == "expired":
        claims.update(iat=NOW - 400, nbf=NOW - 400, exp=NOW - 31)
    elif case == "wrong-audience":
        claims["aud"] = "pypi"
    elif case == "audience-list":
        claims["aud"] = ["wharf-acme", "pypi"]
    elif case == "other-key":  # same key id, another key: a forged signature
        key = RSAKey.generate_key(2048, {"kid": "k1"})
    elif case == "future-iat":
        claims["iat"] = NOW + 120
    elif case == "not-yet":
        claims["nbf"] = NOW + 120
    elif case == "no-jti":
        del claims["jti"]
    elif case == "valid-for-years":  # its replay record would have to live as long
        claims["exp"] = NOW + 3 * 365 * 86400
    elif case == "huge-exp":
        claims["exp"] = 10**30
    assert refused(wharf, github.sign(claims, key=key)) == (
        "invalid-token",
        "malformed or invalid token",
    )


def test_small_clock_skew_is_tolerated(world):
    wharf, _, github, _, _ = world
    register_github(wharf)
    claims = github.github_claims(NOW, "wharf-acme", iat=NOW + 20, nbf=NOW + 20, exp=NOW - 20)
    assert wharf.trusted_publishing.mint(github.sign(claims))


def test_a_token_is_accepted_once(world):
    wharf, _, github, _, _ = world
    register_github(wharf)
    token = github.sign(github.github_claims(NOW, "wharf-acme"))
    wharf.trusted_publishing.mint(token)
    assert refused(wharf, token) == ("invalid-reuse-token", "invalid token: already used")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "a.b.c",
        "x" * 20000,
        "eyJhbGciOiJub25lIn0.eyJpc3MiOjF9.",
        # A payload of 3000 nested brackets: deeper than json can parse.
        "eyJhbGciOiJSUzI1NiJ9." + base64.urlsafe_b64encode(b"[" * 3000).decode() + ".c2ln",
    ],
    ids=["empty", "word", "dots", "huge", "no-issuer", "deep"],
)
def test_malformed_tokens(world, token):
    wharf, _, _, _, _ = world
    register_github(wharf)
    assert refused(wharf, token) == ("invalid-payload", "malformed JWT")


def test_unregistered_issuers_are_never_contacted(world):
    wharf, _, github, _, documents = world
    stranger = TestIssuer("https://evil.example")
    assert refused(wharf, stranger.sign(stranger.github_claims(NOW, "wharf-acme"))) == (
        "invalid-payload",
        "unknown trusted publishing issuer",
    )
    # GitHub is built in, but nothing is fetched for it until a publisher uses it.
    assert refused(wharf, github.sign(github.github_claims(NOW, "wharf-acme")))[0] == (
        "invalid-payload"
    )
    assert documents.fetched == []


def test_keys_are_cached_and_unknown_key_ids_refetch_at_most_once_a_minute(world):
    wharf, clock, github, _, documents = world
    register_github(wharf)
    for _ in range(3):
        wharf.trusted_publishing.mint(github.sign(github.github_claims(NOW, "wharf-acme")))
    assert len(documents.fetched) == 2  # discovery document, JWKS
    stranger_key = RSAKey.generate_key(2048, {"kid": "made-up"})
    clock.advance(seconds=61)
    for _ in range(5):
        token = github.sign(github.github_claims(NOW + 61, "wharf-acme"), key=stranger_key)
        assert refused(wharf, token)[0] == "invalid-token"
    assert len(documents.fetched) == 4  # one refresh for the unknown key, then the cooldown
    # The issuer rotates its key: picked up after the cooldown.
    github.key = RSAKey.generate_key(2048, {"kid": "k2"})
    documents.documents.update(github.documents())
    clock.advance(seconds=61)
    wharf.trusted_publishing.mint(github.sign(github.github_claims(NOW + 122, "wharf-acme")))
    assert len(documents.fetched) == 6


def test_an_issuer_outage_keeps_the_keys_already_held(world):
    wharf, clock, github, _, documents = world
    register_github(wharf)
    wharf.trusted_publishing.mint(github.sign(github.github_claims(NOW, "wharf-acme")))
    documents.documents.clear()
    clock.advance(minutes=6)
    now = NOW + 360
    assert wharf.trusted_publishing.mint(github.sign(github.github_claims(now, "wharf-acme")))


def test_a_discovery_document_pointing_elsewhere_is_not_followed(world):
    wharf, _, github, _, documents = world
    register_github(wharf)
    url = GITHUB + "/.well-known/openid-configuration"
    documents.documents[url] = {"issuer": GITHUB, "jwks_uri": "https://evil.example/jwks"}
    assert refused(wharf, github.sign(github.github_claims(NOW, "wharf-acme")))[0] == (
        "invalid-token"
    )
    assert "https://evil.example/jwks" not in documents.fetched


def test_most_specific_publisher_wins_and_removal_counts_at_once(world):
    wharf, _, github, _, _ = world
    broad = register_github(wharf, projects=["acme-*"])
    narrow = register_github(wharf, environment="pypi", projects=["acme-tools"], may_publish=False)
    claims = github.github_claims(NOW, "wharf-acme", environment="pypi")
    assert wharf.trusted_publishing.mint(github.sign(claims)).publisher.id == narrow.id
    wharf.trusted_publishing.remove(narrow.id)
    claims = github.github_claims(NOW, "wharf-acme", environment="pypi")
    assert wharf.trusted_publishing.mint(github.sign(claims)).publisher.id == broad.id
    wharf.trusted_publishing.remove(broad.id)
    claims = github.github_claims(NOW, "wharf-acme", environment="pypi")
    assert refused(wharf, github.sign(claims))[0] == "invalid-payload"
    with pytest.raises(NotFoundError):
        wharf.trusted_publishing.remove(broad.id)


GH = {"kind": "github", "repository": "acme/tools", "repository_owner_id": "1"}


@pytest.mark.parametrize(
    "fields, problem",
    [
        ({**GH, "repository_owner_id": None, "workflow": "r.yml"}, "repository_owner_id"),
        ({**GH, "repository": "acme", "workflow": "r.yml"}, "owner/name"),
        ({**GH, "workflow": ".github/workflows/r.yml"}, "file name"),
        ({**GH, "repository_owner_id": "acme", "workflow": "r.yml"}, "numeric"),
        ({"kind": "gitlab", "repository": "a/b"}, "workflow"),
        ({"kind": "other", "issuer": "https://ci.example", "claims": {"x": "1"}}, "'sub'"),
        ({"kind": "other", "issuer": "http://ci.example", "claims": {"sub": "1"}}, "https"),
        ({"kind": "other", "claims": {"sub": "1"}}, "issuer"),
    ],
)
def test_registration_refuses_incomplete_publishers(fields, problem):
    fields = {k: v for k, v in fields.items() if v is not None}
    with pytest.raises(ValueError, match=problem):
        PublisherRequest(**fields, projects=["acme-*"])


@pytest.mark.parametrize("audience", ["Wharf", "https://pkgs.example.com", "1wharf", "a b", ""])
def test_audiences_every_client_maps_alike(audience):
    # GitLab's <AUD>_ID_TOKEN variable is named differently by `id` and by uv for these.
    with pytest.raises(ValueError):
        Settings(
            queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
            table_name="t",
            bucket_name="b",
            oidc_audience=audience,
        )


def test_minted_lifetime_is_at_most_fifteen_minutes():
    with pytest.raises(ValueError):
        Settings(
            queue_arn="arn:aws:sqs:us-east-1:000000000000:wharf",
            table_name="t",
            bucket_name="b",
            oidc_token_seconds=901,
        )


def test_cold_starts_do_not_import_the_jose_library():
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from chalicelib import wiring\n"
        "from chalicelib.settings import Settings\n"
        "from tests.fakes import memory_stores\n"
        "settings = Settings(queue_arn='arn:aws:sqs:us-east-1:0:q', table_name='t', "
        "bucket_name='b')\n"
        "wiring.build(settings, stores=memory_stores()[0])\n"
        "print(sorted(m for m in ('joserfc', 'cryptography') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
