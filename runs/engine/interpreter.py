"""The interpreter: one Temporal workflow that runs any valid workflow document.

Temporal's DSL-interpreter pattern: the document is the workflow's input, and this code walks
it deterministically, scheduling an activity per node that does outside work. It follows the
Go compiler's execution model (workflows/compiler/plan.py), so a run here and an exported Go
worker run the same nodes: the nodes of a sequence (the workflow, or one branch of a
parallel node) are visited in topological order; a node runs when it starts its sequence or
an edge into it was taken; every entry node starts the run (several at once, as the branches
of the block that opens the workflow's sequence, when they can be laid out as one); after a
node runs, each of its edges whose condition holds is taken (a decision takes the edges of
the one route it chooses); a parallel node runs its
branches at once and goes on when all of them finished, or with `wait_for_all` false when
the first did, cancelling the rest. Conditions and `{{placeholders}}` go through the same
evaluator validation and the editor use (workflows.dsl.evaluation).

Every state change is recorded as a numbered event through a local activity; the numbers
come from here, so a replay writes the same ones again (ignored by the recorder).

The module imports no Django: the SDK's sandbox re-imports workflow modules, and the
workflow must not touch a database. Outside work goes through the activities named in
runs.engine.types.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy as TemporalRetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError
from temporalio.exceptions import TimeoutError as ActivityTimeout

with workflow.unsafe.imports_passed_through():
    from runs.engine.types import (
        EVENT_SIGNAL,
        MAX_ARGUMENTS_BYTES,
        MAX_SUBFLOW_DEPTH,
        MAX_VARIABLES_BYTES,
        NODE_ACTIVITY,
        RECORD_ACTIVITY,
        STATE_QUERY,
        SUBFLOW_ACTIVITY,
        TASK_CLOSE_ACTIVITY,
        TASK_OPEN_ACTIVITY,
        TASK_SIGNAL,
        WORKFLOW_NAME,
        Event,
        EventBatch,
        NamedSignal,
        NodeCall,
        RunInput,
        RunResult,
        SubflowLookup,
        TaskAnswer,
        TaskClosing,
        TaskOpening,
    )
    from workflows.analysis.graph import WorkflowGraph
    from workflows.analysis.limits import WorkflowLimits
    from workflows.analysis.regions import ENTRY_BLOCK, ParallelBlock
    from workflows.analysis.validation import WorkflowAnalysis, validate_workflow
    from workflows.compiler.steps import (
        DEFAULT_ACTIVITY_TIMEOUT,
        DEFAULT_AI_TIMEOUT,
        DEFAULT_HUMAN_TASK_TIMEOUT,
        DEFAULT_N8N_TIMEOUT,
        DEFAULT_RETRY,
    )
    from workflows.dsl.evaluation import condition_holds, holds, render_text
    from workflows.dsl.models import (
        ActivityConfig,
        AiActionConfig,
        DecisionConfig,
        HumanTaskConfig,
        N8nConfig,
        ParallelConfig,
        RetryPolicy,
        SubflowConfig,
        WaitConfig,
        WorkflowDSL,
        WorkflowNode,
    )

# The run was validated with the limits in force when it was started; here any size goes.
NO_LIMITS = WorkflowLimits(max_nodes=10**9, max_edges=10**9, max_branches=10**9, max_depth=10**9)
RECORD_TIMEOUT = timedelta(seconds=30)
# An event keeps a node's inputs and output up to this size (JSON characters); the whole
# value stays in the run's variables.
EVENT_VALUE_CHARS = 16_000
# on_error "retry": a failed node is tried again this many times, after these pauses.
NODE_RETRY_PAUSES = (timedelta(seconds=1), timedelta(seconds=5), timedelta(seconds=15))

Sequence = tuple[str, int] | None  # None: the workflow's own; (parallel node, index): a branch


class NodeFailed(Exception):
    """A node that could not do its work: why, in words, with a code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class RunFailed(Exception):
    def __init__(self, node_id: str, failure: NodeFailed) -> None:
        super().__init__(failure.message)
        self.node_id = node_id
        self.failure = failure


@workflow.defn(name=WORKFLOW_NAME)
class RunInterpreter:
    # Set when the run begins, from the valid document.
    graph: WorkflowGraph
    dsl: WorkflowDSL

    def __init__(self) -> None:
        self.run_input = RunInput(run_id=0, tenant_id=0, document={})
        self.variables: dict[str, Any] = {}
        self.sizes: dict[str, int] = {}  # variable -> its JSON size in bytes
        self.states: dict[str, str] = {}
        self.answers: dict[str, TaskAnswer] = {}
        self.signals: dict[str, list[Any]] = {}
        self.merging: set[str] = set()  # signal names whose payloads go into the variables
        self.active: set[str] = set()
        self.starts: set[str] = set()
        self.sequences: dict[Sequence, list[str]] = {}
        self.analysis = WorkflowAnalysis(workflow=None, findings=[])
        self.seq = 0
        self.deferred: dict[str, Event] = {}  # node id -> its node_started, sent by its activity

    # Signals and the query -------------------------------------------------------------

    @workflow.signal(name=TASK_SIGNAL)
    def task_answered(self, answer: TaskAnswer) -> None:
        self.answers.setdefault(answer.node_id, answer)  # the first answer counts

    @workflow.signal(name=EVENT_SIGNAL)
    def signalled(self, signal: NamedSignal) -> None:
        if signal.name in self.merging and isinstance(signal.payload, dict):
            self.variables.update(signal.payload)
        else:
            self.signals.setdefault(signal.name, []).append(signal.payload)

    @workflow.query(name=STATE_QUERY)
    def state(self) -> dict[str, Any]:
        return {"nodes": dict(self.states), "variables": dict(self.variables)}

    # The run -----------------------------------------------------------------------------

    @workflow.run
    async def run(self, run: RunInput) -> RunResult:
        self.run_input = run
        self.analysis = validate_workflow(run.document, known_workflow_ids=_any_workflow, limits=NO_LIMITS)
        dsl = self.analysis.workflow
        if dsl is None or self.analysis.errors or self.analysis.graph is None:
            problems = "; ".join(finding.message for finding in self.analysis.errors[:3])
            await self.record("workflow_started", data={"inputs": run.inputs})
            return await self.finish_failed(
                "", NodeFailed("invalid_workflow", f"The workflow is not valid: {problems}")
            )
        self.variables = dict(run.earlier) if run.start_from else {}
        for variable in dsl.variables:
            if variable.default_value is not None:
                self.variables.setdefault(variable.name, variable.default_value)
        self.variables.update(run.inputs)
        self.sizes = {name: _size(value) for name, value in self.variables.items()}
        self.graph, self.dsl = self.analysis.graph, dsl
        self.lay_out(run.start_from)
        await self.record("workflow_started", data={"inputs": run.inputs, "start_from": run.start_from or ""})
        try:
            if run.start_from and run.start_from not in self.sequences[None]:
                raise RunFailed(
                    run.start_from,
                    NodeFailed(
                        "bad_start", "A run can start again only from a node outside parallel branches."
                    ),
                )
            await self.run_sequence(None)
        except RunFailed as failed:
            if dsl.error_policy.on_error == "compensate" and dsl.error_policy.compensation_workflow_id:
                await self.compensate(dsl.error_policy.compensation_workflow_id, failed)
            return await self.finish_failed(failed.node_id, failed.failure)
        except asyncio.CancelledError:
            await self.record("workflow_finished", status="cancelled", data={"variables": self.variables})
            raise
        await self.record("workflow_finished", status="succeeded", data={"variables": self.variables})
        return RunResult(status="succeeded", variables=self.variables)

    async def finish_failed(self, node_id: str, failure: NodeFailed) -> RunResult:
        data = {
            "code": failure.code,
            "error": failure.message,
            "node_id": self.prefixed(node_id) if node_id else "",
        }
        await self.record("workflow_finished", status="failed", data={**data, "variables": self.variables})
        return RunResult(
            status="failed",
            variables=self.variables,
            error_code=failure.code,
            error_message=failure.message,
            failed_node=node_id,
        )

    def lay_out(self, start_from: str | None) -> None:
        """Each sequence's nodes in topological order, and the nodes that start one."""
        graph, layout = self.graph, self.analysis.layout
        self.sequences = {None: []}
        for node_id, block in layout.blocks.items():
            for index in range(len(block.branches)):
                self.sequences[(node_id, index)] = []
        for node_id in graph.order:
            self.sequences[layout.owner.get(node_id)].append(node_id)
        if ENTRY_BLOCK in layout.blocks:
            self.sequences[None].insert(0, ENTRY_BLOCK)  # the entries' branches open the run
        branch_starts = {branch[0] for block in layout.blocks.values() for branch in block.branches if branch}
        # Started again from a node, the run skips what comes before it: the entries too.
        self.starts = branch_starts | ({start_from} if start_from else {ENTRY_BLOCK, *graph.entries})

    async def run_sequence(self, sequence: Sequence) -> None:
        graph = self.graph
        for node_id in self.sequences[sequence]:
            if node_id not in self.starts and node_id not in self.active:
                continue
            if node_id == ENTRY_BLOCK:
                await self.run_branches(ENTRY_BLOCK, self.analysis.layout.blocks[ENTRY_BLOCK])
                continue
            node = graph.nodes[node_id]
            if isinstance(node.config, ParallelConfig):
                await self.run_parallel(node)
                self.take_edges(node_id)
            elif isinstance(node.config, DecisionConfig):
                await self.run_node(node, self.decide)
            else:
                if await self.run_node(node, self.execute):
                    self.take_edges(node_id)

    def take_edges(self, node_id: str) -> None:
        graph = self.graph
        for edge in graph.outgoing.get(node_id, ()):
            if edge.condition is None or holds(edge.condition.expression, self.variables):
                self.active.add(edge.target)

    async def run_parallel(self, node: WorkflowNode) -> None:
        """A parallel node: its branches (run_branches), between the node's events."""
        block = self.analysis.layout.blocks[node.id]
        await self.node_event("node_started", node)
        started = workflow.now()
        try:
            cancelled = await self.run_branches(node.id, block)
        except asyncio.CancelledError:
            await self.node_event("node_finished", node, status="cancelled")
            raise
        except Exception:
            data = {"duration_ms": _milliseconds(started)}
            await self.node_event("node_finished", node, status="failed", data=data)
            raise
        await self.node_event(
            "node_finished",
            node,
            status="succeeded",
            data={"duration_ms": _milliseconds(started), "cancelled_branches": cancelled},
        )

    async def run_branches(self, block_id: str, block: ParallelBlock) -> int:
        """A block's branches at once; with wait_for_all, until all finished (the first
        failure cancels the rest, and is raised), otherwise until the first finished,
        cancelling the rest. How many branches were cancelled."""
        branches = [
            asyncio.ensure_future(self.run_sequence((block_id, index)))
            for index in range(len(block.branches))
        ]
        try:
            if block.wait_for_all:
                done, pending = await workflow.wait(branches, return_when=asyncio.FIRST_EXCEPTION)
            else:
                done, pending = await workflow.wait(branches, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            for branch in branches:
                branch.cancel()
            raise
        for branch in pending:
            branch.cancel()
        if pending:
            await workflow.wait(pending)
        failures = [
            failure
            for branch in branches
            if branch in done and not branch.cancelled() and (failure := branch.exception()) is not None
        ]
        if failures:
            raise failures[0]
        return len(pending)

    async def run_node(self, node: WorkflowNode, work: Callable[[WorkflowNode], Any]) -> bool:
        """Run one node with the error policy; whether the run goes on past it as usual."""
        dsl = self.dsl
        policy = dsl.error_policy.on_error
        pauses = list(NODE_RETRY_PAUSES) if policy == "retry" else []
        await self.node_event("node_started", node, defer=_calls_an_activity(node))
        while True:
            started = workflow.now()
            try:
                inputs, output, details = await work(node)
            except NodeFailed as failure:
                await self.flush_deferred(node)
                data = {"code": failure.code, "error": failure.message, "duration_ms": _milliseconds(started)}
                if pauses:
                    await self.node_event("node_retrying", node, status="failed", data=data)
                    await workflow.sleep(pauses.pop(0))
                    continue
                await self.node_event("node_finished", node, status="failed", data=data)
                if policy == "ignore":
                    return True
                raise RunFailed(node.id, failure) from None
            except asyncio.CancelledError:
                await self.flush_deferred(node)
                await self.node_event("node_finished", node, status="cancelled")
                raise
            await self.flush_deferred(node)
            output_variable = getattr(node.config, "output_variable", None)
            if output_variable:
                try:
                    self.keep(output_variable, output)
                except NodeFailed as failure:
                    data = {"code": failure.code, "error": failure.message}
                    await self.node_event("node_finished", node, status="failed", data=data)
                    raise RunFailed(node.id, failure) from None
            data = {
                "inputs": _shown(inputs),
                "output": _shown(output),
                "duration_ms": _milliseconds(started),
                **details,
            }
            await self.node_event("node_finished", node, status="succeeded", data=data)
            return True

    # Node types ----------------------------------------------------------------------------

    async def decide(self, node: WorkflowNode) -> tuple[Any, Any, dict[str, Any]]:
        routes = self.analysis.decisions.get(node.id)
        if routes is None:
            raise NodeFailed("invalid_node", "The decision's branches do not match its edges.")
        chosen = next(
            (
                route
                for route in routes.branches
                if route.condition is None or condition_holds(route.condition, self.variables)
            ),
            routes.default,
        )
        if chosen is None:
            raise NodeFailed("no_branch", "No branch condition holds, and the decision has no default.")
        self.active.update(chosen.targets)
        return None, chosen.name, {"branch": chosen.name, "branch_label": chosen.label}

    async def execute(self, node: WorkflowNode) -> tuple[Any, Any, dict[str, Any]]:
        config = node.config
        if isinstance(config, ActivityConfig):
            arguments = self.rendered(config.input_mapping)
            call = NodeCall(
                **self.call_ids(node), node_type="activity", name=config.activity_name, arguments=arguments
            )
            timeout = node.timeout_seconds or DEFAULT_ACTIVITY_TIMEOUT
            return (
                arguments,
                await self.call(node, call, timeout, canned_names=(node.id, config.activity_name)),
                {},
            )
        if isinstance(config, AiActionConfig):
            prompt = render_text(config.prompt_template, self.variables, as_text=True)
            call = NodeCall(
                **self.call_ids(node),
                node_type="ai_action",
                name="ai",
                arguments={"prompt": prompt},
                config={
                    "provider": config.provider,
                    "model": config.model,
                    "temperature": config.temperature,
                    "max_tokens": config.max_tokens,
                    "use_local_model": config.use_local_model,
                    "output_schema": config.output_schema,
                },
            )
            timeout = node.timeout_seconds or DEFAULT_AI_TIMEOUT
            return {"prompt": prompt}, await self.call(node, call, timeout, canned_names=(node.id,)), {}
        if isinstance(config, N8nConfig):
            arguments = self.rendered(config.input_mapping)
            call = NodeCall(
                **self.call_ids(node),
                node_type="n8n",
                name=config.workflow_id,
                arguments=arguments,
                config={
                    "webhook_path": config.webhook_path,
                    "wait_for_completion": config.wait_for_completion,
                    "timeout_seconds": config.timeout_seconds,
                },
            )
            timeout = config.timeout_seconds or node.timeout_seconds or DEFAULT_N8N_TIMEOUT
            return arguments, await self.call(node, call, timeout, canned_names=(node.id,)), {}
        if isinstance(config, SubflowConfig):
            return await self.subflow(node, config)
        if isinstance(config, WaitConfig):
            return await self.wait(node, config)
        if isinstance(config, HumanTaskConfig):
            return await self.human_task(node, config)
        raise NodeFailed("unknown_node", f"Nodes of type {node.node_type} cannot run.")

    async def call(
        self, node: WorkflowNode, call: NodeCall, seconds: int, *, canned_names: tuple[str, ...]
    ) -> Any:
        """The node's activity; or, in a test run, the output (or error) given for it."""
        size = _size(call.arguments)
        if size > MAX_ARGUMENTS_BYTES:
            raise NodeFailed(
                "too_large",
                f"The node's inputs are {size:,} bytes; a node is given at most {MAX_ARGUMENTS_BYTES:,}.",
            )
        call.started, call.source = self.deferred.pop(node.id, None), self.run_input.node_prefix
        for name in canned_names:
            canned = self.run_input.canned.get(name)
            if canned is not None:
                if call.started is not None:
                    self.deferred[node.id] = call.started  # no activity runs: sent by run_node
                if "error" in canned:
                    raise NodeFailed("test_error", str(canned["error"]))
                return canned.get("output")
        try:
            return await workflow.execute_activity(
                NODE_ACTIVITY,
                call,
                start_to_close_timeout=timedelta(seconds=seconds),
                retry_policy=_retry_policy(node.retry_policy or DEFAULT_RETRY),
            )
        except ActivityError as error:
            if call.started is not None:  # an activity that never started did not record it
                await self.send(call.started)
            raise _failure_of(error) from None

    async def subflow(self, node: WorkflowNode, config: SubflowConfig) -> tuple[Any, Any, dict[str, Any]]:
        inputs = self.rendered(config.input_mapping)
        document = await self.published_document(config.workflow_id)
        result = await self.child(node.id, document, inputs)
        if result.status != "succeeded":
            raise NodeFailed("subflow_failed", f"The subflow failed: {result.error_message}")
        return inputs, result.variables, {}

    async def child(self, key: str, document: dict[str, Any], inputs: dict[str, Any]) -> RunResult:
        run = self.run_input
        if run.depth + 1 > MAX_SUBFLOW_DEPTH:
            raise NodeFailed("too_deep", f"Subflows nest at most {MAX_SUBFLOW_DEPTH} deep.")
        child = RunInput(
            run_id=run.run_id,
            tenant_id=run.tenant_id,
            document=document,
            inputs=inputs,
            canned=run.canned,
            node_prefix=f"{self.prefixed(key)}/",
            depth=run.depth + 1,
        )
        try:
            result: RunResult = await workflow.execute_child_workflow(
                WORKFLOW_NAME, child, id=f"{workflow.info().workflow_id}/{key}", result_type=RunResult
            )
        except ChildWorkflowError as error:
            raise NodeFailed("subflow_failed", f"The subflow stopped: {error.cause or error}") from None
        return result

    async def published_document(self, workflow_id: str) -> dict[str, Any]:
        lookup = SubflowLookup(tenant_id=self.run_input.tenant_id, workflow_id=workflow_id)
        try:
            document: dict[str, Any] = await _bookkeeping(SUBFLOW_ACTIVITY, lookup)
        except ActivityError as error:
            raise _failure_of(error) from None
        return document

    async def compensate(self, workflow_id: str, failed: RunFailed) -> None:
        """The compensation workflow, given what failed and the variables; its own failure is
        recorded, and the run fails as it would have."""
        inputs = {
            "error": failed.failure.message,
            "failed_node": failed.node_id,
            "failed_workflow": self.run_input.document.get("name", ""),
            "variables": dict(self.variables),
        }
        await self.record("compensation_started", data={"workflow_id": workflow_id})
        try:
            document = await self.published_document(workflow_id)
            result = await self.child("compensation", document, inputs)
            status, error = result.status, result.error_message
        except NodeFailed as failure:
            status, error = "failed", failure.message
        await self.record("compensation_finished", status=status, data={"error": error} if error else {})

    async def wait(self, node: WorkflowNode, config: WaitConfig) -> tuple[Any, Any, dict[str, Any]]:
        timeout = timedelta(seconds=config.timeout_seconds) if config.timeout_seconds else None
        if config.wait_type == "timer":
            await workflow.sleep(timedelta(seconds=config.duration_seconds or 0))
            return {"seconds": config.duration_seconds}, None, {}
        name = config.signal_name or ""
        if config.wait_type == "signal":
            await self.node_event("node_waiting", node, data={"signal": name})
            try:
                await workflow.wait_condition(lambda: bool(self.signals.get(name)), timeout=timeout)
            except TimeoutError:
                raise NodeFailed("wait_timeout", f"The signal “{name}” did not arrive in time.") from None
            return {"signal": name}, self.signals[name].pop(0), {}
        expression = config.condition_expression or "false"
        if name:
            self.merging.add(name)
            for payload in self.signals.pop(name, []):  # arrived before the wait began
                if isinstance(payload, dict):
                    self.variables.update(payload)
        await self.node_event("node_waiting", node, data={"condition": expression, "signal": name})
        try:
            await workflow.wait_condition(lambda: holds(expression, self.variables), timeout=timeout)
        except TimeoutError:
            raise NodeFailed("wait_timeout", "The condition did not hold in time.") from None
        finally:
            self.merging.discard(name)
        return {"condition": expression}, None, {}

    async def human_task(
        self, node: WorkflowNode, config: HumanTaskConfig
    ) -> tuple[Any, Any, dict[str, Any]]:
        run = self.run_input
        assignee = (
            str(render_text(config.assignee_expression, self.variables, as_text=True))
            if config.assignee_expression
            else ""
        )
        timeout_seconds = config.timeout_seconds or DEFAULT_HUMAN_TASK_TIMEOUT
        opening = TaskOpening(
            run_id=run.run_id,
            tenant_id=run.tenant_id,
            node_id=self.prefixed(node.id),
            temporal_workflow_id=workflow.info().workflow_id,
            task_type=config.task_type,
            title=_rendered_or_raw(config.title, self.variables),
            description=_rendered_or_raw(config.description or "", self.variables),
            assignee=assignee[:254],
            form_schema=config.form_schema,
            timeout_seconds=timeout_seconds,
        )
        try:
            await _bookkeeping(TASK_OPEN_ACTIVITY, opening)
        except ActivityError as error:
            raise _failure_of(error) from None
        await self.node_event("node_waiting", node, data={"task": opening.title, "assignee": assignee})
        key = self.prefixed(node.id)
        try:
            await workflow.wait_condition(
                lambda: key in self.answers, timeout=timedelta(seconds=timeout_seconds)
            )
        except TimeoutError:
            await self.close_task(node, "timed_out")
            raise NodeFailed("task_timed_out", "Nobody answered the task in time.") from None
        except asyncio.CancelledError:
            await self.close_task(node, "cancelled")
            raise
        answer = self.answers[key]
        output = {
            **answer.answer,
            "outcome": answer.outcome,
            "approved": answer.outcome == "completed",
            "decided_by": answer.decided_by,
            "comment": answer.comment,
        }
        return {"task": opening.title}, output, {"outcome": answer.outcome}

    async def close_task(self, node: WorkflowNode, status: str) -> None:
        run = self.run_input
        closing = TaskClosing(
            run_id=run.run_id, tenant_id=run.tenant_id, node_id=self.prefixed(node.id), status=status
        )
        await _bookkeeping(TASK_CLOSE_ACTIVITY, closing)

    # Helpers -----------------------------------------------------------------------------

    def keep(self, name: str, value: Any) -> None:
        """Store a variable, unless the run's variables would outgrow what Temporal carries."""
        size = _size(value)
        total = sum(self.sizes.values()) - self.sizes.get(name, 0) + size
        if total > MAX_VARIABLES_BYTES:
            raise NodeFailed(
                "too_large",
                f"The run's variables would reach {total:,} bytes with “{name}”; "
                f"a run keeps at most {MAX_VARIABLES_BYTES:,}.",
            )
        self.variables[name] = value
        self.sizes[name] = size

    def rendered(self, mapping: dict[str, str]) -> dict[str, Any]:
        return {name: render_text(template, self.variables) for name, template in mapping.items()}

    def call_ids(self, node: WorkflowNode) -> dict[str, Any]:
        return {
            "run_id": self.run_input.run_id,
            "tenant_id": self.run_input.tenant_id,
            "node_id": self.prefixed(node.id),
        }

    def prefixed(self, node_id: str) -> str:
        return f"{self.run_input.node_prefix}{node_id}"

    async def node_event(
        self,
        kind: str,
        node: WorkflowNode,
        *,
        status: str = "",
        data: dict[str, Any] | None = None,
        defer: bool = False,
    ) -> None:
        """A node's event; with `defer`, numbered now but sent with the node's activity,
        which records it as it starts (one round trip less per node)."""
        key = self.prefixed(node.id)
        self.states[key] = {
            "node_started": "running",
            "node_waiting": "waiting",
            "node_retrying": "running",
        }.get(kind, status)
        details = {"type": node.node_type, "label": node.label, **(data or {})}
        event = self.numbered(kind, node_id=key, status=status, data=details)
        if event is None:
            return
        if defer:
            self.deferred[node.id] = event
        else:
            await self.send(event)

    async def record(
        self, kind: str, *, node_id: str = "", status: str = "", data: dict[str, Any] | None = None
    ) -> None:
        event = self.numbered(kind, node_id=node_id, status=status, data=data)
        if event is not None:
            await self.send(event)

    def numbered(
        self, kind: str, *, node_id: str = "", status: str = "", data: dict[str, Any] | None = None
    ) -> Event | None:
        """An event, numbered here so a replay numbers it alike (a child run numbers its own,
        kept apart by its `source`, the subflow node's path); a child records only its nodes'
        events, under ids that start with that path."""
        if self.run_input.node_prefix and not node_id:
            return None
        self.seq += 1
        return Event(
            seq=self.seq,
            kind=kind,
            node_id=node_id,
            status=status,
            data=data or {},
            at=workflow.now().isoformat(),
        )

    async def send(self, event: Event) -> None:
        run = self.run_input
        await workflow.execute_local_activity(
            RECORD_ACTIVITY,
            EventBatch(run_id=run.run_id, tenant_id=run.tenant_id, source=run.node_prefix, events=[event]),
            start_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=TemporalRetryPolicy(maximum_attempts=0, maximum_interval=timedelta(seconds=10)),
        )

    async def flush_deferred(self, node: WorkflowNode) -> None:
        """A deferred event the node's activity did not take (a test output, a refusal)."""
        event = self.deferred.pop(node.id, None)
        if event is not None:
            await self.send(event)


async def _bookkeeping(name: str, argument: Any) -> Any:
    """One of SCE's own database activities: quick, and tried again a few times."""
    return await workflow.execute_activity(
        name,
        argument,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=TemporalRetryPolicy(maximum_attempts=5),
    )


def _calls_an_activity(node: WorkflowNode) -> bool:
    return isinstance(node.config, ActivityConfig | AiActionConfig | N8nConfig)


def _any_workflow(_workflow_id: str) -> bool:
    return True  # subflows were checked against the tenant's workflows when the run started


def _retry_policy(policy: RetryPolicy) -> TemporalRetryPolicy:
    return TemporalRetryPolicy(
        initial_interval=timedelta(milliseconds=max(policy.initial_interval_ms, 1)),
        backoff_coefficient=max(policy.backoff_coefficient, 1.0),
        maximum_interval=timedelta(milliseconds=max(policy.max_interval_ms, policy.initial_interval_ms, 1)),
        maximum_attempts=policy.max_attempts,
    )


def _failure_of(error: ActivityError) -> NodeFailed:
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return NodeFailed(cause.type or "activity_failed", cause.message)
    if isinstance(cause, ActivityTimeout):
        return NodeFailed("timeout", "The activity did not finish in time.")
    return NodeFailed("activity_failed", str(cause or error))


def _milliseconds(started: Any) -> int:
    return int((workflow.now() - started).total_seconds() * 1000)


def _rendered_or_raw(text: str, variables: dict[str, Any]) -> str:
    """Text as the Go compiler writes it (go_text); a field the validator does not read as a
    template (a title) may hold `{{` as plain text."""
    try:
        return str(render_text(text, variables, as_text=True))
    except ValueError:
        return text


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def _shown(value: Any) -> Any:
    """The value as an event keeps it: whole, or a preview when it is large."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= EVENT_VALUE_CHARS:
        return value
    return {"truncated": True, "characters": len(text), "preview": text[:2000]}
