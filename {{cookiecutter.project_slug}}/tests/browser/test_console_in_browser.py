"""Headless Chromium drives the console through an incident: failures land in groups (through the
task's hand-off and through the dead-letter worker), a viewer finds the group but can't replay it,
an operator replays it at a rate and watches the progress finish, and the worker runs the tasks
again, successfully. Anonymous requests and POSTs without the CSRF token get nothing."""

import re
import time
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from {{ cookiecutter.package_name }}.deadletter.groups import group_id
from {{ cookiecutter.package_name }}.deadletter.store import RedisDeadLetterStore

from ..console_client import OPERATOR_TOKEN, VIEWER_TOKEN
from ..integration import faulty_tasks
from ..integration.test_console import succeeded_on
from ..integration.test_dead_letters import wait_for_record
from ..integration.test_replay_operations import fail, new_scenario, runs_reach
from ..integration.workers import WorkerProcess, wait_for
from ..records import a_dead_letter

REPLAYED = 6
RATE = "2"  # six records take 2.5 s: the page polls its progress on the way
WITHIN_MS = 30_000


def signed_in_page(browser: Browser, console_url: str, token: str) -> Page:
    """A fresh browser session, signed in through the sign-in form."""
    page = browser.new_context(base_url=console_url).new_page()
    page.goto("/")
    expect(page).to_have_url(f"{console_url}/login")
    page.fill("input[name=token]", token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console_url}/")
    return page


def test_an_operator_replays_a_group_and_the_worker_runs_its_tasks(
    workers: WorkerProcess,
    console_url: str,
    browser: Browser,
    store: RedisDeadLetterStore,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    scenario = new_scenario()
    replayed = fail(store, "value", scenario, REPLAYED)
    left_alone = fail(store, "lookup", scenario, 2)
    rejected = [faulty_tasks.rejects_credentials.delay(scenario, "k-secret") for _ in range(2)]
    left_alone += [wait_for_record(store, sent.id).id for sent in rejected]
    first = store.get(replayed[0])
    assert first is not None
    group = group_id(first)

    viewer = signed_in_page(browser, console_url, VIEWER_TOKEN)
    expect(viewer.locator(f"tr[data-group='{group}'] td.number")).to_have_text(str(REPLAYED))
    viewer.click(f"a[href='/groups/{group}']")
    expect(viewer.locator("tr[data-record]")).to_have_count(REPLAYED)
    expect(viewer.locator("form[action$='/replay']")).to_have_count(0)
    csrf = viewer.locator("input[name=csrf]").first.get_attribute("value") or ""
    refused = viewer.request.post(
        f"/groups/{group}/replay", form={"csrf": csrf, "rate": RATE}, max_redirects=0
    )
    assert refused.status == 403

    operator = signed_in_page(browser, console_url, OPERATOR_TOKEN)
    screenshot = tmp_path / "console-groups.png"
    operator.screenshot(path=str(screenshot), full_page=True)
    print(f"\nbrowser: screenshot of the groups page: {screenshot}")
    without_csrf = operator.request.post(
        f"/groups/{group}/replay", form={"rate": RATE}, max_redirects=0
    )
    assert without_csrf.status == 403
    assert {record.status for record in map(store.get, replayed) if record} == {"dead"}

    faulty_tasks.fix(scenario)
    operator.click(f"a[href='/groups/{group}']")
    operator.fill("input[name=rate]", RATE)
    operator.get_by_role("button", name="Replay the group's dead records").click()
    expect(operator).to_have_url(re.compile(r"/replays/[0-9a-f]{32}$"))
    expect(operator.locator("#state")).to_have_text("running", timeout=WITHIN_MS)
    on_the_way = re.compile(f"^[1-{REPLAYED - 1}]$")  # the poll showed progress before the end
    expect(operator.locator("#done")).to_have_text(on_the_way, timeout=WITHIN_MS)
    expect(operator.locator("#state")).to_have_text("finished", timeout=WITHIN_MS)
    expect(operator.locator("#published")).to_have_text(str(REPLAYED))
    expect(operator.locator("#cancel")).to_have_count(0)

    wait_for(runs_reach(replayed, 2), 30, "the replayed tasks' second runs")
    for task_id in replayed:
        wait_for(succeeded_on(workers, task_id), 10, f"{task_id} succeeded")
    operator.goto(f"/groups/{group}")
    expect(operator.locator("tr[data-record] td.status")).to_have_text(["replayed"] * REPLAYED)
    assert {(r.status, r.replays) for r in map(store.get, left_alone) if r} == {("dead", 0)}
    print(f"browser: the scenario took {time.monotonic() - started:.1f} s")


def test_an_anonymous_visitor_gets_nothing(
    console_url: str, browser: Browser, store: RedisDeadLetterStore
) -> None:
    record = store.save(a_dead_letter(id=str(uuid.uuid4())))
    page = browser.new_context(base_url=console_url).new_page()
    for path in ("/", f"/records/{record.id}", f"/groups/{group_id(record)}"):
        page.goto(path)
        expect(page).to_have_url(f"{console_url}/login")
        assert record.id not in page.content()
    with httpx.Client(base_url=console_url) as anonymous:
        assert anonymous.get(f"/records/{record.id}").text == ""
        assert anonymous.get("/replays/any/status").status_code == 401
        purge = anonymous.post(f"/records/{record.id}/purge", data={"csrf": "guess"})
        assert purge.status_code == 401
    assert store.get(record.id) == record
    store.delete(record.id)
