"""Three builds of one workflow type, for the deploy test (tests/test_ops_versioning.py).

``OldBuild`` is the code a running workflow was started with; ``PatchedBuild`` is the next
release done by the project's rule (the new step behind ``workflow.patched``);
``UnguardedBuild`` is the same change without the patch, which the rule forbids. All three are
registered as the workflow type ``OpsVersioned``; a worker runs one of them.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

PATCH_ID = "ops-notify-supervisor"
TYPE_NAME = "OpsVersioned"
TIMEOUT = timedelta(seconds=10)


@activity.defn
def intake(item: str) -> str:
    return f"intake {item}"


@activity.defn
def notify_supervisor(item: str) -> str:
    return f"notify {item}"


@activity.defn
def close(item: str) -> str:
    return f"close {item}"


class _Base:
    def __init__(self) -> None:
        self.go = False
        self.at_wait = False

    @workflow.signal
    def proceed(self) -> None:
        self.go = True

    @workflow.query
    def waiting(self) -> bool:
        return self.at_wait and not self.go


@workflow.defn(name=TYPE_NAME)
class OldBuild(_Base):
    @workflow.run
    async def run(self, item: str) -> list[str]:
        done = [await workflow.execute_activity(intake, item, start_to_close_timeout=TIMEOUT)]
        self.at_wait = True
        await workflow.wait_condition(lambda: self.go)
        done.append(await workflow.execute_activity(close, item, start_to_close_timeout=TIMEOUT))
        return done


@workflow.defn(name=TYPE_NAME)
class PatchedBuild(_Base):
    @workflow.run
    async def run(self, item: str) -> list[str]:
        done = [await workflow.execute_activity(intake, item, start_to_close_timeout=TIMEOUT)]
        if workflow.patched(PATCH_ID):  # new runs notify; runs started by the old build do not
            note = await workflow.execute_activity(notify_supervisor, item, start_to_close_timeout=TIMEOUT)
            done.append(note)
        self.at_wait = True
        await workflow.wait_condition(lambda: self.go)
        done.append(await workflow.execute_activity(close, item, start_to_close_timeout=TIMEOUT))
        return done


@workflow.defn(name=TYPE_NAME)
class UnguardedBuild(_Base):
    @workflow.run
    async def run(self, item: str) -> list[str]:
        done = [await workflow.execute_activity(intake, item, start_to_close_timeout=TIMEOUT)]
        done.append(await workflow.execute_activity(notify_supervisor, item, start_to_close_timeout=TIMEOUT))
        self.at_wait = True
        await workflow.wait_condition(lambda: self.go)
        done.append(await workflow.execute_activity(close, item, start_to_close_timeout=TIMEOUT))
        return done
