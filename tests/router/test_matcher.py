"""The matcher: the same layers, in the same order, as testing every layer's regex would give."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiokoa import Router
from aiokoa.router import matcher
from aiokoa.router.matcher import BadParam, decode

from .conftest import body


def params(router: Router, path: str, method: str = "GET") -> dict[str, object] | None:
    match = router.match(path, method)
    return match.params if match.route else None


def test_static_and_named_parameters() -> None:
    router = Router()
    router.get("/users", body("list"))
    router.get("/users/:id", body("one"))
    router.get("/users/:id/books/:book", body("book"))
    assert params(router, "/users") == {}
    assert params(router, "/users/3") == {"id": "3"}
    assert params(router, "/users/3/books/b") == {"id": "3", "book": "b"}
    assert params(router, "/users/3/books") is None
    assert params(router, "/users//books/b") is None  # an empty segment is no parameter


def test_every_matching_layer_in_registration_order() -> None:
    router = Router()
    router.get("/users/:id", body(1), name="a")
    router.get("/users/me", body(2), name="b")
    router.use(body(3))
    router.get("/users/{id:int}", body(4), name="c")
    match = router.match("/users/me", "GET")
    assert [layer.name for layer in match.path] == ["a", "b", None]
    numeric = router.match("/users/7", "GET")
    assert [layer.name for layer in numeric.path] == ["a", None, "c"]


def test_methods_split_path_matches_from_runnable_ones() -> None:
    router = Router()
    router.get("/x", body("get"))
    router.post("/x", body("post"))
    match = router.match("/x", "post")
    assert [layer.methods for layer in match.path] == [("HEAD", "GET"), ("POST",)]
    assert [hit[0].methods for hit in match.path_and_method] == [("POST",)]
    assert match.route
    assert not router.match("/x", "DELETE").route
    assert router.match("/x", "HEAD").route  # a GET route answers HEAD


def test_optional_segments() -> None:
    router = Router()
    router.get("/archive{/:year{/:month}}", body("archive"))
    assert params(router, "/archive") == {}
    assert params(router, "/archive/2024") == {"year": "2024"}
    assert params(router, "/archive/2024/05") == {"year": "2024", "month": "05"}
    assert params(router, "/archive/2024/05/01") is None


def test_optional_literal_text_and_extension() -> None:
    router = Router()
    router.get("/file{.:ext}", body("f"))
    assert params(router, "/file") == {}
    assert params(router, "/file.json") == {"ext": "json"}


def test_named_wildcards() -> None:
    router = Router()
    router.get("/files/*path", body("file"))
    router.get("/static/{rest:path}", body("static"))
    assert params(router, "/files/a/b/c.txt") == {"path": "a/b/c.txt"}
    assert params(router, "/static/css/x.css") == {"rest": "css/x.css"}
    assert params(router, "/files") is None  # a wildcard needs at least one character
    assert params(router, "/files/") is None
    assert params(router, "/files/a/") == {"path": "a/"}  # the trailing slash is captured, as in @koa/router


def test_wildcard_in_the_middle_uses_the_regex_fallback() -> None:
    router = Router()
    router.get("/repo/*path/edit", body("edit"))
    router.get("/dl/file-*name", body("dl"))
    assert params(router, "/repo/a/b/edit") == {"path": "a/b"}
    assert params(router, "/repo/edit") is None
    assert params(router, "/dl/file-a/b") == {"name": "a/b"}


def test_several_parameters_in_one_segment() -> None:
    router = Router()
    router.get("/flights/:from-:to", body("f"))
    router.get("/pics/:name.:ext", body("p"))
    assert params(router, "/flights/LAX-SFO") == {"from": "LAX", "to": "SFO"}
    assert params(router, "/pics/cat.large.png") == {"name": "cat", "ext": "large.png"}


def test_typed_converters_convert_and_fall_through() -> None:
    ident = uuid.uuid4()
    router = Router()
    router.get("/n/{n:int}", body("int"))
    router.get("/f/{x:float}", body("float"))
    router.get("/u/{id:uuid}", body("uuid"))
    router.get("/n/{name}", body("name"))
    assert params(router, "/n/42") == {"n": 42, "name": "42"}  # both layers match, both run
    assert params(router, "/n/abc") == {"name": "abc"}
    assert params(router, "/f/1.5") == {"x": 1.5}
    assert params(router, "/f/1.") is None
    assert params(router, f"/u/{ident}") == {"id": ident}
    assert params(router, f"/u/{str(ident).upper()}") == {"id": ident}
    assert params(router, "/u/not-a-uuid") is None


class _Even:
    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        number = int(value)
        if number % 2:
            raise ValueError("odd")
        return number

    def to_string(self, value: int) -> str:
        return str(value)


def test_a_converter_that_refuses_a_value_means_no_match() -> None:
    from aiokoa.router import CONVERTERS, register_converter

    register_converter("even", _Even())
    try:
        router = Router()
        router.get("/e/{n:even}", body("even"))
        assert params(router, "/e/4") == {"n": 4}
        assert params(router, "/e/3") is None
    finally:
        del CONVERTERS["even"]


def test_parameters_are_decoded_once_and_plus_stays_plus() -> None:
    router = Router()
    router.get("/q/:term", body("q"))
    router.get("/w/*rest", body("w"))
    assert params(router, "/q/a%20b+c") == {"term": "a b+c"}
    assert params(router, "/q/a%2Fb") == {"term": "a/b"}
    assert params(router, "/q/%2541") == {"term": "%41"}  # once, not twice
    assert params(router, "/q/caf%C3%A9") == {"term": "café"}
    assert params(router, "/w/a%2Fb/c") == {"rest": "a/b/c"}


def test_case_insensitive_by_default_and_sensitive_on_request() -> None:
    loose = Router()
    loose.get("/Users/:Id", body("x"))
    assert params(loose, "/users/AbC") == {"Id": "AbC"}  # the value keeps its case
    strict_case = Router(sensitive=True)
    strict_case.get("/Users/:id", body("x"))
    assert params(strict_case, "/users/1") is None
    assert params(strict_case, "/Users/1") == {"id": "1"}


def test_trailing_slash_optional_unless_strict() -> None:
    loose = Router()
    loose.get("/a", body("a"))
    loose.get("/b/", body("b"))
    assert params(loose, "/a/") == {}
    assert params(loose, "/b") == {}
    strict = Router(strict=True)
    strict.get("/a", body("a"))
    strict.get("/b/", body("b"))
    assert params(strict, "/a/") is None
    assert params(strict, "/b") is None
    assert params(strict, "/b/") == {}


def test_root_route_and_prefix_root() -> None:
    router = Router()
    router.get("/", body("root"))
    assert params(router, "/") == {}
    assert params(router, "/x") is None
    prefixed = Router(prefix="/api")
    prefixed.get("/", body("root"))
    assert params(prefixed, "/api") == {}
    assert params(prefixed, "/api/") == {}


def test_literal_non_ascii_route_matches_the_encoded_request_path() -> None:
    router = Router()
    router.get("/café/:x", body("c"))
    assert params(router, "/caf%C3%A9/1") == {"x": "1"}


def test_regexp_routes_use_named_groups() -> None:
    router = Router()
    router.get(re.compile(r"^/re/(?P<year>\d{4})/(?P<slug>[a-z-]+)$"), body("re"))
    assert params(router, "/re/2024/hello-world") == {"year": "2024", "slug": "hello-world"}
    assert params(router, "/re/24/hello") is None


def test_use_without_path_matches_every_path_with_a_path_only_its_prefix() -> None:
    router = Router()
    router.use(body("all"))
    router.use("/admin", body("admin"))
    router.get("/admin/users", body("users"))
    router.get("/administrator", body("other"))
    admin = router.match("/admin/users", "GET")
    assert [layer.path for layer in admin.path] == ["", "/admin", "/admin/users"]
    other = router.match("/administrator", "GET")
    assert [layer.path for layer in other.path] == ["", "/administrator"]


def test_use_root_path_is_exact_as_in_koa_router() -> None:
    router = Router()
    router.use("/", body("root only"))
    router.get("/", body("r"))
    router.get("/x", body("x"))
    assert len(router.match("/", "GET").path) == 2
    assert len(router.match("/x", "GET").path) == 1


def test_paths_that_are_not_paths_match_only_catch_all_middleware() -> None:
    router = Router()
    router.use(body("all"))
    router.get("/", body("root"))
    assert [layer.path for layer in router.match("*", "OPTIONS").path] == [""]
    assert router.match("", "GET").path[0].path == ""


def test_lookup_does_not_depend_on_how_many_routes_there_are() -> None:
    router = Router()
    for index in range(2000):
        router.get(f"/static/route{index}", body(index))
        router.get(f"/items{index}/{{id:int}}/detail", body(index))
    router.match("/", "GET")
    tree = router._compiled.matcher.trees[0]  # type: ignore[union-attr]
    assert len(tree.root.static) == 2001  # "static" plus one child per items route
    assert len(router._compiled.matcher.regexes) == 0  # type: ignore[union-attr]
    match = router.match("/items1999/42/detail", "GET")
    assert match.params == {"id": 42}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("%ZZ", "malformed percent-encoding"),
        ("%E9", "not UTF-8"),
        ("a%00", "NUL"),
        ("a\x00", "NUL"),
        ("%", "malformed"),
    ],
)
def test_decode_rejects_malformed_values(raw: str, problem: str) -> None:
    with pytest.raises(BadParam, match=problem):
        decode(raw)


def test_bad_encoding_is_reported_with_the_match_not_as_no_match() -> None:
    router = Router()
    router.get("/q/:term", body("q"))
    match = router.match("/q/%ZZ", "GET")
    assert match.route
    assert match.path_and_method[0][2] == "malformed percent-encoding in path parameter '%ZZ'"


_SEGMENTS = ["a", "b", "users", ":id", ":x", "{n:int}", "*rest"]


def _build(patterns: list[tuple[str, str]]) -> Router:
    router = Router()
    for verb, pattern in patterns:
        if verb == "use":
            router.use(pattern, body("u"))
        else:
            router.get(pattern, body("g"))
    return router


def _hits(router: Router, path: str) -> list[tuple[object, dict[str, object], str | None]]:
    compiled = router._compiled or router._compile()
    return [(layer.path, params, error) for layer, params, error in compiled.matcher.lookup(path)]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["get", "use"]),
            st.lists(st.sampled_from(_SEGMENTS), min_size=0, max_size=3).map(lambda segs: "/" + "/".join(segs)),
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.sampled_from(["a", "b", "users", "USERS", "7", "x", "", "%41", "%zz", "%00"]), max_size=4).map(
        lambda segs: "/" + "/".join(segs)
    ),
)
def test_the_tree_finds_what_testing_every_regex_finds(patterns: list[tuple[str, str]], path: str) -> None:
    """Every route the segment tree can hold, looked up both ways: same layers, same order,
    same parameters (the tree's walk takes shortcuts; the regexes are the reference)."""
    routes = [(verb, pattern) for verb, pattern in patterns if "*rest/" not in pattern]
    tree = _build(routes)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matcher, "_fits_tree", lambda segs: False)
        reference = _build(routes)
        expected = _hits(reference, path)
    assert reference._compiled is not None and not reference._compiled.matcher.trees
    assert _hits(tree, path) == expected
