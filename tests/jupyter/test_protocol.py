"""Protocol behaviour of our own, over the wire with jupyter_client: signatures, malformed
messages, panics, stop_on_error, silent cells, streaming, interrupts, restart, and the magics."""
import contextlib
import json
import os
import re
import signal
import subprocess
import time
from queue import Empty

import pytest
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import Session

TIMEOUT = 180


@contextlib.contextmanager
def started(**kw):
    """A fresh kernel and a client on it, shut down afterwards."""
    km, kc = start_new_kernel(kernel_name="reprise", startup_timeout=TIMEOUT, **kw)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel():
    with started() as k:
        yield k


@pytest.fixture
def fresh_kernel():
    with started() as k:
        yield k


def drain(kc):
    while True:
        try:
            kc.iopub_channel.get_msg(timeout=0.2)
        except Empty:
            return


def run(kc, code, **kw):
    """Executes and returns (reply, iopub messages of this request up to idle)."""
    msg_id = kc.execute(code, **kw)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
    out = []
    while True:
        m = kc.iopub_channel.get_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status":
            if m["content"]["execution_state"] == "idle":
                return reply, out
            continue
        out.append(m)


def test_execution_count_starts_at_one(fresh_kernel):
    _, kc = fresh_kernel
    reply, _ = run(kc, ":experiments")
    assert reply["content"]["execution_count"] == 1
    reply, _ = run(kc, "let a = 40;")
    assert reply["content"]["execution_count"] == 2


def test_panic_is_an_error_reply_and_the_next_cell_works(kernel):
    _, kc = kernel
    run(kc, "let kept = 5;")
    reply, out = run(kc, 'let x: Vec<i32> = vec![]; let y: i32 = x[3];')
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "panic"
    assert "index out of bounds" in reply["content"]["evalue"]
    assert [m["msg_type"] for m in out if m["msg_type"] != "execute_input"] == ["error"]
    reply, out = run(kc, "kept + 1")
    assert reply["content"]["status"] == "ok"
    results = [m for m in out if m["msg_type"] == "execute_result"]
    assert results[0]["content"]["data"]["text/plain"] == "6"


def test_a_bad_signature_is_dropped(kernel):
    _, kc = kernel
    drain(kc)
    forger = Session(key=b"not-the-key", username="mallory")
    forger.send(kc.shell_channel.socket, "execute_request", {"code": 'println!("forged");', "silent": False})
    with pytest.raises(Empty):
        kc.get_shell_msg(timeout=2)
    reply, out = run(kc, "1 + 1")
    assert reply["content"]["status"] == "ok"
    assert not any("forged" in json.dumps(m["content"]) for m in out)


def test_a_malformed_message_gets_an_error_reply_and_the_kernel_stays_up(kernel):
    _, kc = kernel
    s = kc.session
    header = s.msg_header("execute_request")
    parts = [s.pack(header), b"{}", b"{}", b"{not json"]
    kc.shell_channel.socket.send_multipart([b"<IDS|MSG>", s.sign(parts)] + parts)
    reply = kc.get_shell_msg(timeout=10)
    assert reply["parent_header"]["msg_id"] == header["msg_id"]
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "MalformedMessage"
    reply, _ = run(kc, "2 + 2")
    assert reply["content"]["status"] == "ok"


def test_stop_on_error_aborts_the_queued_cells(kernel):
    _, kc = kernel
    drain(kc)
    ids = [kc.execute('panic!("first fails");'), kc.execute("1"), kc.execute("2")]
    replies = {}
    while len(replies) < 3:
        r = kc.get_shell_msg(timeout=TIMEOUT)
        replies[r["parent_header"]["msg_id"]] = r["content"]["status"]
    assert [replies[i] for i in ids] == ["error", "aborted", "aborted"]


def test_a_silent_cell_broadcasts_nothing(kernel):
    _, kc = kernel
    drain(kc)
    msg_id = kc.execute('println!("quiet"); 42', silent=True)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["content"]["status"] == "ok"
    seen = []
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            m = kc.iopub_channel.get_msg(timeout=0.5)
        except Empty:
            break
        if m["parent_header"].get("msg_id") == msg_id:
            seen.append(m["msg_type"])
    assert set(seen) <= {"status"}, seen


def test_output_streams_while_the_cell_runs(kernel):
    _, kc = kernel
    code = 'for i in 0..3 { println!("tick {i}"); std::thread::sleep(std::time::Duration::from_millis(400)); }'
    _, out = run(kc, code)
    streams = [m for m in out if m["msg_type"] == "stream"]
    assert len(streams) >= 2, "each tick arrives as it is printed, not in one block at the end"
    assert "".join(m["content"]["text"] for m in streams) == "tick 0\ntick 1\ntick 2\n"


def test_a_cells_stderr_all_reaches_that_cell(kernel):
    """More stderr than a pipe holds, written just before the cell ends: every line is that cell's
    output, none spills into the next cell's."""
    _, kc = kernel
    lines = 20000
    _, out = run(kc, f'for i in 0..{lines} {{ eprintln!("line {{i}}"); }}')
    text = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    assert text == "".join(f"line {i}\n" for i in range(lines))
    _, out = run(kc, 'println!("next");')
    assert [(m["content"]["name"], m["content"]["text"]) for m in out if m["msg_type"] == "stream"] == [("stdout", "next\n")]


def test_interrupt_stops_an_endless_loop_and_says_what_was_lost(kernel):
    km, kc = kernel
    run(kc, "let survivor = 1;")
    drain(kc)
    msg_id = kc.execute('println!("looping"); loop { std::hint::spin_loop(); }')
    while True:
        m = kc.iopub_channel.get_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream" and "looping" in m["content"]["text"]:
            break
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert "survivor" in reply["content"]["evalue"]
    reply, out = run(kc, "3 * 3")
    assert reply["content"]["status"] == "ok"
    # :restore replays the recorded cells, and the lost variable is back.
    reply, out = run(kc, ":restore")
    assert reply["content"]["status"] == "ok"
    reply, out = run(kc, "survivor + 1")
    assert reply["content"]["status"] == "ok", reply["content"]
    assert [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"] == "2"


def test_sigint_interrupts_too(fresh_kernel):
    km, kc = fresh_kernel
    msg_id = kc.execute('println!("spinning"); loop { std::hint::spin_loop(); }')
    while True:
        m = kc.iopub_channel.get_msg(timeout=TIMEOUT)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream":
            break
    km.signal_kernel(signal.SIGINT)
    reply = kc.get_shell_msg(timeout=30)
    assert reply["content"]["ename"] == "KeyboardInterrupt"


def test_displays_update_in_place_and_evcxr_display_types_render(fresh_kernel):
    _, kc = fresh_kernel
    code = (
        'reprise_update_display("progress", "text/plain", "0%", false);\n'
        'reprise_update_display("progress", "text/plain", "100%", true);'
    )
    reply, out = run(kc, code)
    out = [m for m in out if m["msg_type"] != "execute_input"]
    kinds = [(m["msg_type"], m["content"].get("transient", {}).get("display_id")) for m in out]
    assert kinds == [("display_data", "progress"), ("update_display_data", "progress")], kinds
    assert out[1]["content"]["data"]["text/plain"] == "100%"
    # A type with an `evcxr_display` method (evcxr's display protocol) renders as rich output.
    code = (
        "struct Celsius(f64);\n"
        "impl Celsius { fn evcxr_display(&self) { println!(\"EVCXR_BEGIN_CONTENT text/html\\n<b>{} °C</b>\\nEVCXR_END_CONTENT\", self.0); } }\n"
        "Celsius(21.5)"
    )
    reply, out = run(kc, code)
    assert reply["content"]["status"] == "ok", reply["content"]
    result = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]
    assert result["text/html"] == "<b>21.5 °C</b>"
    # Shown mid-cell (what `plotly::Plot::evcxr_display()` prints), each display arrives where it
    # was printed, as its own display_data, not merged into the result (which kept only the last).
    code = (
        "Celsius(1.0).evcxr_display();\n"
        'println!("between");\n'
        "Celsius(2.0).evcxr_display();\n"
        'println!("EVCXR_BEGIN_CONTENT text/html\\n<i>a</i>\\nEVCXR_END_CONTENT\\nEVCXR_BEGIN_CONTENT application/json\\n{{}}\\nEVCXR_END_CONTENT");\n'
        'println!("after");\n'
        "6 * 7"
    )
    reply, out = run(kc, code)
    assert reply["content"]["status"] == "ok", reply["content"]
    seen = [(m["msg_type"], m["content"].get("text") or m["content"].get("data")) for m in out if m["msg_type"] in ("display_data", "stream", "execute_result")]
    texts = "".join(t for k, t in seen if k == "stream")
    assert texts == "between\nafter\n", seen
    kinds = [k for k, _ in seen if k != "stream"]
    assert kinds == ["display_data", "display_data", "display_data", "execute_result"], seen
    displays = [d for k, d in seen if k == "display_data"]
    assert displays[0]["text/html"] == "<b>1 °C</b>" and displays[1]["text/html"] == "<b>2 °C</b>", displays
    assert displays[2]["text/html"] == "<i>a</i>" and displays[2]["application/json"] == {}, "one call, one bundle"
    first_display = next(i for i, (k, _) in enumerate(seen) if k == "display_data")
    first_between = next(i for i, (k, t) in enumerate(seen) if k == "stream" and "between" in t)
    assert first_display < first_between, seen
    assert seen[-1][1]["text/plain"] == "42"


def test_final_expressions_show_as_evcxr_shows_them(fresh_kernel):
    """The kernel's plain-text display trait (one compile instead of evcxr's two) prints what
    evcxr's fallback prints, yields to a type's own `evcxr_display`, and follows `:fmt`, `:types`
    and `:clear`."""
    _, kc = fresh_kernel

    def shown(code):
        reply, out = run(kc, code)
        assert reply["content"]["status"] == "ok", reply["content"]
        results = [m["content"]["data"] for m in out if m["msg_type"] == "execute_result"]
        return results[-1] if results else None

    assert shown("1 + 1") == {"text/plain": "2"}
    assert shown('(vec![1.5f64], "a\\n", Some(()))') == {"text/plain": '([1.5], "a\\n", Some(()))'}
    run(kc, "let v = vec![1u8, 2];\nlet mut w = String::from(\"w\");")
    assert shown("v") == {"text/plain": "[1, 2]"}
    assert shown("w") == {"text/plain": '"w"'}
    # A place the same cell binds immutably (the kernel borrows a final place: `&(s)`).
    assert shown('let s = String::from("q");\ns') == {"text/plain": '"q"'}
    assert shown("let t = (1, vec![2u8]);\nt.1[0]") == {"text/plain": "2"}
    # Errors show the cell as written, and an `evcxr_display` taking `self` by value still shows.
    reply, out = run(kc, "struct NoDebug;\nlet n = NoDebug;\nn")
    assert reply["content"]["status"] == "error" and "Debug" in reply["content"]["evalue"], reply["content"]
    assert "&(n)" not in "\n".join(reply["content"]["traceback"]), reply["content"]["traceback"]
    by_value = (
        "#[derive(Clone, Copy)] struct Owned;\n"
        "impl Owned { fn evcxr_display(self) { println!(\"EVCXR_BEGIN_CONTENT text/html\\n<i>owned</i>\\nEVCXR_END_CONTENT\"); } }\n"
        "let o = Owned;\no"
    )
    assert shown(by_value) == {"text/html": "<i>owned</i>"}
    # :fmt applies to the cell that sets it and to later ones; :types adds the type.
    assert shown(":fmt {:#?}\nvec![1]")["text/plain"].endswith("[\n    1,\n]")
    assert shown("vec![2]") == {"text/plain": "[\n    2,\n]"}
    run(kc, ":types")
    assert shown("vec![3]") == {"text/plain": ": Vec<i32> = [\n    3,\n]"}
    run(kc, ":types\n:fmt")
    assert shown("vec![4]") == {"text/plain": "[4]"}
    # A type without Debug is still evcxr's error; after :clear the display still works.
    reply, _ = run(kc, "struct NoDebug;\nNoDebug")
    assert reply["content"]["status"] == "error" and "Debug" in reply["content"]["evalue"], reply["content"]
    run(kc, ":clear")
    assert shown("2.5f64") == {"text/plain": "2.5"}
    # A Debug type's own evcxr_display wins, whether inherent or from a trait (as evcxr_image's).
    run(kc, (
        "#[derive(Debug)] struct Inherent;\n"
        "impl Inherent { fn evcxr_display(&self) { println!(\"EVCXR_BEGIN_CONTENT text/html\\n<i>inherent</i>\\nEVCXR_END_CONTENT\"); } }\n"
        "#[derive(Debug)] struct ViaTrait;\n"
        "trait Show { fn evcxr_display(&self); }\n"
        "impl Show for ViaTrait { fn evcxr_display(&self) { println!(\"EVCXR_BEGIN_CONTENT text/html\\n<i>trait</i>\\nEVCXR_END_CONTENT\"); } }"
    ))
    assert shown("Inherent") == {"text/html": "<i>inherent</i>"}
    assert shown("ViaTrait") == {"text/html": "<i>trait</i>"}
    # (evcxr alone fails this one: with a user trait that has an `evcxr_display`, its first
    # compile's error points at that trait, and it gives up instead of falling back.)
    assert shown("vec![5]") == {"text/plain": "[5]"}


def test_magics_run_show_rerun_and_a_saved_session_replays(fresh_kernel, store, reprise_bin):
    _, kc = fresh_kernel
    reply, out = run(kc, ":run demo.pi seed=3 n=20000 tasks=4")
    assert reply["content"]["status"] == "ok"
    result = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"]
    assert re.fullmatch("[0-9a-f]{64}", result)
    display = [m for m in out if m["msg_type"] == "display_data"][0]["content"]["data"]
    assert "<table>" in display["text/html"] and "summary.json" in display["text/plain"]
    cli = subprocess.run([reprise_bin, "--store", store, "show", result, "--output", "summary.json"], capture_output=True, check=True)
    assert json.loads(cli.stdout)["n"] == 20000
    reply, out = run(kc, f":rerun {result[:10]}")
    assert reply["content"]["status"] == "ok", reply["content"]
    reply, out = run(kc, ":run demo.pi n=0")
    assert reply["content"]["status"] == "error"
    cli = subprocess.run([reprise_bin, "--store", store, "run", "demo.pi", "-p", "n=0"], capture_output=True, text=True)
    assert cli.returncode == 2
    assert reply["content"]["evalue"] in cli.stderr, "the magic and the CLI give the same error"
    run(kc, 'let words = vec!["a", "b"]; println!("{}", words.join("+"));')
    reply, out = run(kc, ":session save")
    session = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"]
    replay = subprocess.run([reprise_bin, "--store", store, "rerun", session], capture_output=True, text=True, timeout=600)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "every cell gives the same outputs" in replay.stdout


def test_run_draws_its_figures_with_a_static_fallback(kernel):
    _, kc = kernel
    reply, out = run(kc, ":run discocat.gs2011")
    assert reply["content"]["status"] == "ok"
    figures = [m["content"]["data"] for m in out if m["msg_type"] == "display_data" and "application/vnd.plotly.v1+json" in m["content"]["data"]]
    assert len(figures) == 1, [list(m["content"].get("data", {})) for m in out]
    fig = figures[0]
    assert fig["application/vnd.plotly.v1+json"]["data"][0]["type"] == "bar"
    svg = fig["image/svg+xml"]
    assert svg.startswith("<svg") and "kronecker" in svg and svg.count("<rect x=") >= 8
    reply, out = run(kc, ":run discocat.compose")
    svgs = [m["content"]["data"]["image/svg+xml"] for m in out if m["msg_type"] == "display_data" and "image/svg+xml" in m["content"]["data"]]
    assert len(svgs) == 1 and ">loves<" in svgs[0], svgs


def test_shutdown_with_restart_gives_a_fresh_kernel(fresh_kernel):
    km, kc = fresh_kernel
    run(kc, "let before = 1;")
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=TIMEOUT)
    reply, _ = run(kc, ":experiments")
    assert reply["content"]["execution_count"] == 1


def test_a_named_notebook_pins_its_dependencies(tmp_path):
    """`:dep` versions resolved in one kernel are written to lockfiles/notebooks/NAME.Cargo.lock,
    and a fresh kernel on the same notebook resolves exactly those versions."""
    env = {**os.environ, "REPRISE_REPO": str(tmp_path)}
    lock = tmp_path / "lockfiles" / "notebooks" / "pins.Cargo.lock"

    def session(cells):
        every = []
        with started(env=env) as (_, kc):
            for code in cells:
                reply, out = run(kc, code)
                assert reply["content"]["status"] == "ok", (code, reply["content"])
                every += out
            return out, every

    session([":notebook pins", ':dep itoa = "1"'])
    text = lock.read_text()
    assert 'name = "itoa"' in text
    # Pin an older release by hand; the next kernel must build that one.
    pinned = re.sub(r'(name = "itoa"\nversion = )"[^"]+"\nsource = ("[^"]+")\nchecksum = "[^"]+"', r'\1"1.0.10"\nsource = \2', text)
    assert pinned != text
    lock.write_text(pinned)
    out, every = session([":notebook pins", ':dep itoa = "1"', "let s: String = itoa::Buffer::new().format(7).to_string(); s"])
    assert [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"] == '"7"'
    # cargo's progress reaches the notebook while the dependency builds, as the cell's stderr.
    progress = "".join(m["content"]["text"] for m in every if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    assert re.search(r"Compiling itoa v1\.0\.10", progress), progress
    assert re.search(r'name = "itoa"\nversion = "1.0.10"', lock.read_text())


def test_a_fresh_kernel_reuses_the_last_dep_build_until_the_source_changes(tmp_path):
    """A `:dep` path crate built by one kernel is not rebuilt by the next kernel on the same store
    (the build directory is seeded from the store's cache); after its source changes, it is."""
    crate = tmp_path / "tiny"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text('[package]\nname = "tiny"\nversion = "0.1.0"\nedition = "2021"\n')
    (crate / "src" / "lib.rs").write_text("pub fn answer() -> u32 { 7 }\n")
    env = {**os.environ, "REPRISE_STORE": str(tmp_path / "store")}

    def session():
        with started(env=env) as (_, kc):
            reply, out = run(kc, f':dep tiny = {{ path = "{crate}" }}\nlet v: u32 = tiny::answer();\nv')
            assert reply["content"]["status"] == "ok", reply["content"]
            value = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"]
            progress = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
            return value, progress

    value, progress = session()
    assert value == "7" and "Compiling tiny v0.1.0" in progress, progress
    value, progress = session()
    assert value == "7" and "Compiling tiny" not in progress, progress
    (crate / "src" / "lib.rs").write_text("pub fn answer() -> u32 { 8 }\n")
    value, progress = session()
    assert value == "8" and "Compiling tiny v0.1.0" in progress, progress


def test_variables_without_written_types_on_a_toolchain_without_rust_src():
    """With rust-analyzer unable to type anything of std (forced here whatever the toolchain has),
    the compiler names the types of untyped `let`s; the next cells use them. The notebook hears of
    it once; a closure gets a reason and a way out, and a cell's own error is its error."""
    env = {**os.environ, "REPRISE_KERNEL_NO_RUST_SRC": "1"}
    with started(env=env) as (_, kc):
        def ok(code):
            reply, out = run(kc, code)
            assert reply["content"]["status"] == "ok", (code, reply["content"])
            results = [m["content"]["data"]["text/plain"] for m in out if m["msg_type"] == "execute_result"]
            stderr = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
            return (results[-1] if results else None), stderr

        _, said = ok("let v = vec![1u8, 2];")
        assert "rust-src" in said and "`v`" in said, said
        assert ok("v")[0] == "[1, 2]"
        _, said = ok('let m = std::collections::BTreeMap::<String, f64>::new();\nlet s = String::from("x");\nlet n = 5;')
        assert said == "", "the note comes once per kernel"
        assert ok('let mut m2 = m.clone();\nm2.insert(s.clone(), 2.5);\n(m.len(), &m2, &s, n + 1)')[0] == '(0, {"x": 2.5}, "x", 6)'
        assert ok("m2.len()")[0] == "1"
        # An ndarray from a science crate's function (the crate re-exports ndarray, so its
        # type can be written).
        ok(":dep reprise-experiments")
        ok("use reprise_experiments::linalg::{gram_of, RowMajor};\nlet g = gram_of(RowMajor::of(&[1.0, 2.0, 3.0, 4.0], 2), None, None);")
        assert ok("(g.shape().to_vec(), g[[0, 1]], g.sum())")[0] == "([2, 2], 14.0, 58.0)"
        # Data in cells: a shipped data set by name shows as the head of a table (HTML and text),
        # an untyped `let` holds it, and a missing cell is named by row and column.
        reply, out = run(kc, 'let senate = reprise_experiments::data::load("senate").unwrap();\nsenate.clone()')
        assert reply["content"]["status"] == "ok", reply["content"]
        shown = [m["content"]["data"] for m in out if m["msg_type"] == "execute_result"][0]
        assert shown["text/html"].startswith("<table><thead><tr><th>state</th>") and "1390 rows × 17 columns" in shown["text/html"], shown
        assert "1390 rows × 17 columns" in shown["text/plain"] and "Connecticut" in shown["text/plain"], shown
        reply, out = run(kc, 'match senate.numeric("demvoteshlag1") { Ok(_) => println!("no gap"), Err(e) => println!("{e}") }')
        said = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
        assert "column `demvoteshlag1`, row 1 is missing" in said, said
        assert ok('senate.numeric("margin").unwrap().len()')[0] == "1390"
        # A science crate's type in an untyped `let` is named by a path the cell can write.
        ok("let kern = reprise_experiments::rdd::Kernel::Epanechnikov;")
        assert ok("kern")[0] == "Epanechnikov"
        # A type the cell itself defines, a variable the cell moves, a shadowed name.
        ok("#[derive(Debug)] struct Pt { x: u8 }\nlet p = Pt { x: 3 };\nlet ps = vec![p];\nlet k = 1;\nlet k = vec![k];")
        assert ok("(&ps, &k)")[0] == "([Pt { x: 3 }], [1])"
        # A closure, and an iterator holding one: a reason and a way out; the kernel goes on.
        for code, words in [("let f = |x: i32| x + 1;", "Box<dyn Fn"), ("let it = v.iter().map(|x| x + 1);", ".collect::<Vec<_>>()")]:
            reply, _ = run(kc, code)
            c = reply["content"]
            assert c["status"] == "error" and c["ename"] == "TypeError" and words in c["evalue"], c
        reply, _ = run(kc, "let q = not_defined + 1;")
        c = reply["content"]
        assert c["status"] == "error" and "not_defined" in c["evalue"], c
        assert "__reprise_type_probe" not in c["evalue"]
        assert ok("v.len() + ps.len()")[0] == "3"


def test_a_saved_session_survives_gc_and_shows(tmp_path, reprise_bin):
    """A session saved over the wire keeps its outputs through `reprise gc --now` once the kernel
    is gone (its temporary roots with it): `show` lists its cells, `rerun` replays them, every
    output digest is still in the store and `verify` is clean."""
    store = str(tmp_path / "store")
    env = {**os.environ, "REPRISE_STORE": store}
    with started(env=env) as (_, kc):
        for code in ["let x: u64 = 6 * 7;", 'println!("x is {x}");', "x * 2"]:
            reply, _ = run(kc, code)
            assert reply["content"]["status"] == "ok", reply["content"]
        reply, out = run(kc, ":session save")
        session = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"]
    cli = lambda *a: subprocess.run([reprise_bin, "--store", store, *a], capture_output=True, text=True, timeout=600)
    gc = cli("gc", "--now")
    assert gc.returncode == 0, gc.stderr
    shown = cli("--json", "show", session)
    assert shown.returncode == 0, shown.stderr
    manifest = json.loads(shown.stdout)
    assert manifest["missing_outputs"] == 0 and len(manifest["cells"]) == 3, manifest
    for cell in manifest["cells"]:
        for o in cell["outputs"]:
            assert cli("store", "get", o["digest"]).returncode == 0, o
    text = cli("show", session).stdout
    assert "[2] ok       println!" in text and "stream:stdout" in text, text
    replay = cli("rerun", session)
    assert replay.returncode == 0 and "every cell gives the same outputs" in replay.stdout, replay.stdout + replay.stderr
    verify = cli("verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # Shared like a run: by a bundle and by a folder remote into empty stores, replayed there.
    bundle = tmp_path / "session.reprise"
    out = cli("bundle", "export", session, "-o", str(bundle))
    assert out.returncode == 0 and "1 session(s)" in out.stdout, out.stdout + out.stderr
    lab = tmp_path / "lab"
    out = cli("remote", "add", "lab", f"file://{lab}", "--create")
    assert out.returncode == 0, out.stderr
    out = cli("remote", "push", "lab", session)
    assert out.returncode == 0, out.stderr
    for name, receive in [("by-bundle", ["bundle", "import", str(bundle)]), ("by-remote", ["remote", "pull", "lab", session[:12]])]:
        there = lambda *a: subprocess.run([reprise_bin, "--store", str(tmp_path / name), *a], capture_output=True, text=True, timeout=600)
        if name == "by-remote":
            assert there("remote", "add", "lab", f"file://{lab}").returncode == 0
        got = there(*receive)
        assert got.returncode == 0, got.stdout + got.stderr
        replay = there("rerun", session)
        assert replay.returncode == 0 and "every cell gives the same outputs" in replay.stdout, name + replay.stdout + replay.stderr
        assert there("verify").returncode == 0, name


def test_science_in_cells_on_a_prepared_store(prepared_store, reprise_bin):
    """A fresh kernel brings in the RDD crate and fits rdrobust on the Senate data: the summary
    prints rdrobust's layout with the numbers of the `rdd.scalar` experiment, as text, HTML and
    JSON; two plots in one cell show as two charts; a bad CSV and a bad option are errors that
    name the row and column or the option."""
    ran = subprocess.run([reprise_bin, "--store", prepared_store, "--quiet", "run", "rdd.scalar", "--json"], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr
    digest = json.loads(ran.stdout)["outputs"]["estimates.csv"]["digest"]
    csv = subprocess.run([reprise_bin, "--store", prepared_store, "store", "get", digest], capture_output=True, text=True).stdout
    rows = {r.split(",")[0]: r.split(",") for r in csv.strip().splitlines()[1:]}
    tau, ci = float(rows["conventional"][1]), (float(rows["robust"][5]), float(rows["robust"][6]))
    with started() as (_, kc):
        reply, out = run(kc, ":dep reprise-rdd")
        assert reply["content"]["status"] == "ok", reply["content"]
        progress = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
        assert "Compiling" not in progress, "the prepared build is reused, nothing rebuilt: " + progress[-2000:]
        reply, out = run(kc, 'let senate: reprise_rdd::Frame = reprise_rdd::senate();\nlet fit: reprise_rdd::RdrobustFit = reprise_rdd::Rdrobust::from_frame(&senate, "vote", "margin")?.fit()?;\nfit')
        assert reply["content"]["status"] == "ok", reply["content"]
        data = [m for m in out if m["msg_type"] == "execute_result"][0]["content"]["data"]
        assert {"text/plain", "text/html", "application/json"} <= set(data), sorted(data)
        text = data["text/plain"]
        for want in ["Sharp RD estimates using local polynomial regression.", "Eff. Number of Obs.", "BW est. (h)                 17.754      17.754",
                     f"Conventional {tau:9.3f}", f"[{ci[0]:.3f} , {ci[1]:.3f}]", "P>|z|"]:
            assert want in text, f"{want!r} not in\n{text}"
        assert "<table>" in data["text/html"]
        est = data["application/json"]["estimate"]
        assert est["conventional"]["estimate"] == tau and est["robust"]["ci"] == list(ci), est
        assert abs(est["h"][0] - 17.7544) < 1e-4 and data["application/json"]["n"] == [595, 702]
        reply, out = run(kc, 'fit.rdplot().evcxr_display();\nlet other: reprise_rdd::RdrobustFit = reprise_rdd::Rdrobust::from_frame(&senate, "vote", "margin")?.h(10.0).fit()?;\nother.rdplot().evcxr_display();')
        assert reply["content"]["status"] == "ok", reply["content"]
        # (a display call that ends the cell reaches the notebook as the cell's result: a chart all the same)
        charts = [m for m in out if m["msg_type"] in ("display_data", "execute_result") and "application/vnd.plotly.v1+json" in m["content"]["data"]]
        assert len(charts) == 2, [m["msg_type"] for m in out]
        assert all("image/svg+xml" in m["content"]["data"] for m in charts), "each chart carries the static drawing"
        reply, out = run(kc, 'let bad: reprise_rdd::Frame = reprise_rdd::Frame::from_csv(b"y,x\\n1,0.5\\n2,abc\\n")?;\nreprise_rdd::Rdrobust::from_frame(&bad, "y", "x")?.fit()?')
        assert reply["content"]["status"] == "error" and "column `x`, row 2: `abc` is not a number" in reply["content"]["evalue"], reply["content"]
        reply, out = run(kc, 'reprise_rdd::Frame::from_csv(b"y,x\\n1,0.5\\n2\\n")?')
        assert reply["content"]["status"] == "error" and "line 3" in reply["content"]["evalue"], reply["content"]
        reply, out = run(kc, 'fit.tau()\n')
        assert reply["content"]["status"] == "ok", "a failed cell leaves the kernel and its variables as they were"
        reply, out = run(kc, 'reprise_rdd::Rdrobust::from_frame(&senate, "vote", "margin")?.level(150.0).fit()?')
        assert reply["content"]["status"] == "error" and "level = 150" in reply["content"]["evalue"], reply["content"]
        reply, out = run(kc, ':run rdd.scalar seed=0')
        assert reply["content"]["status"] == "ok", reply["content"]
        reply, out = run(kc, ':let pinned = last estimates.csv\nassert!(pinned.contains(&fit.tau().to_string()));\npinned.len()')
        assert reply["content"]["status"] == "ok", reply["content"]
        reply, out = run(kc, ':let pinned = last rdplot.svg')
        assert reply["content"]["status"] == "error" and "has no output `rdplot.svg`" in reply["content"]["evalue"], reply["content"]
