"""Stage 4, run: the only module that touches durable-rules.

How a law version becomes a Rete network
----------------------------------------
Every derived value, requirement, computation and the decision is a rule in one durable-rules ruleset.
The compiler's nodes are placed in *levels* by their dependencies; a case is evaluated by asserting one
fact per level that carries every value known so far, and durable-rules decides which rules match it:

* a requirement (or a boolean derived value) is a ``T`` rule with its condition and an ``F`` rule with
  the negated condition, which fire when it is true or false, neither when Kleene logic says unknown
  (engine/backends/_network.py makes their expressions). When the network can test no part of a condition, a
  requirement is one rule whose action decides it in Python, and a boolean derived value or computation
  is computed like the values below;
* a non-boolean derived value or computation (and a synthetic part of a condition) is a rule of the level
  where its inputs are known, or known to be missing; its action computes the value exactly (``Decimal``,
  dates; ``Unknown`` when an input is missing) and the facts of the later levels whose rules read it carry
  it when it is known. A boolean the network left undecided reads as Unknown (see ``_mark_unknown``);
* the decision: ``ammesso`` is a rule whose condition is that every requirement is true; a requirement's
  ``F`` rule, when it fires, also refuses the case (``respinto``: Kleene's any-false), so no rule repeats
  every failing condition, and a case with several failures is refused once, not once per failure.
  When neither happens, the case is ``indeterminato``. The ``ammesso`` rule sits at the level where the
  last requirements are decided, reading those requirements' own conditions and the outcomes of the
  earlier ones (which travel as values), so no fact is asserted for the decision alone; a rule longer
  than durable-rules allows (32 expressions) falls back to reading every outcome one level later;
* computations that the law works out for an admitted case only (``decision.computations_for: admitted``)
  sit on levels after every other rule's, and every rule there also tests a mark that the ``ammesso``
  rule puts in the facts of those levels; a case not admitted could match none of them, so those facts
  are not asserted.

Traps avoided (../DESIGN.md): the library's Python ``Host`` is not used (it starts timer threads that
never stop and registers names once per process); ``delete_state`` is never called; every evaluation
uses one constant session and retracts its facts, so memory stays flat; a lock serialises calls, since
the C core is not thread-safe; any error from the C core becomes a :class:`KernelError` for that
evaluation only, and the network is rebuilt so later evaluations start clean.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any

import durable_rules_engine as _durable

from .._compile import LawVersion, Node
from .._evaluate import EvaluationError, Evaluator
from .._i18n import gettext as _
from .._values import Unknown
from ..errors import KernelError
from ._network import Conditions, Synthetic, encoder, fragment, topological, transitive

_LEVEL = "l"
# The kernel's own names start with "#", which no name of a ruleset can (schemas/ruleset.schema.json).
_ADMITTED = "#ammesso"  # the mark of an admitted case, in the facts of the levels that wait for it
_names = itertools.count()


@dataclass(slots=True)
class Outcome:
    """What one evaluation produced: every value (``Unknown`` where not known) and each requirement's
    outcome (True, False or None for unknown), and the decision."""

    values: dict[str, Any]
    requirements: dict[str, bool | None]
    decision: str


Action = Callable[[dict[str, Any], list[list[str]], "Outcome"], None]


class Kernel:
    """One durable-rules network for one law version. Thread-safe; evaluations are serialised."""

    def __init__(self, law: LawVersion) -> None:
        self._law = law
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._actions: dict[str, Action] = {}
        self._makers: dict[str, Callable[[], Action]] = {}
        self._rules: dict[str, Any] = {}
        self._rule_levels: dict[str, int] = {}
        self._readers: dict[str, tuple[int, ...]] = {}  # name -> the levels whose rules read it
        self._encoders_of: dict[str, tuple[Callable[[Any], str], tuple[int, ...]]] = {}  # filled after _build
        self._native_types = {n: f.type for n, f in law.facts.items()}
        self._native_types.update({n: p.type for n, p in law.parameters.items()})
        self._native_types.update({n.name: n.type for n in law.nodes() if n.kind != "requirement"})
        self._conditions = Conditions(self._native_types)
        self._synthetic = self._conditions.synthetic  # the parts of conditions computed in Python
        self._aliases = self._conditions.aliases  # name -> its attribute in the network
        self._alias = self._conditions.alias
        self._requirement_keys = {r.name: f"#rq{i}" for i, r in enumerate(law.requirements)}
        self._no_outcomes: dict[str, bool | None] = dict.fromkeys(self._requirement_keys)
        self._parameter_fragments: dict[Hashable, list[list[str]]] = {}
        self.decision_apart = False
        try:
            self._handle = self._complete(decision_apart=False)
        except KernelError:  # the decision rule would exceed durable-rules' 32 expressions a rule
            self.decision_apart = True
            self._handle = self._complete(decision_apart=True)

    def _complete(self, *, decision_apart: bool) -> Any:
        """Build the network, make the actions and encoders that depend on it, and create it in the C core."""
        for table in (self._makers, self._rules, self._rule_levels, self._readers, self._encoders_of):
            table.clear()
        self._build(decision_apart=decision_apart)
        # name -> (the JSON of a known value, the levels whose fact carries it), for the names some rule reads
        self._encoders_of.update({name: (encoder(self._alias(name), self._native_types.get(name, "boolean")), levels)
                                  for name, levels in self._readers.items()})
        self._fact_encoders = [(name, *self._encoders_of[name]) for name in self._law.facts if name in self._readers]
        self._parameter_encoders = [(name, *self._encoders_of[name]) for name in self._law.parameters
                                    if name in self._readers]
        self._actions = {name: make() for name, make in self._makers.items()}
        # What each level's fact starts with, after its id; then come the known values its rules read.
        self._heads = [f'"sid":"0","{_LEVEL}":{level},' for level in range(self.levels)]
        return self._create()

    # -- building the network -------------------------------------------------------------------------

    def _build(self, *, decision_apart: bool) -> None:
        law = self._law
        order = topological(list(law.derived.values()) + list(law.computations.values()))
        conditions: dict[str, tuple[Any, Any]] = {}
        # A requirement of which durable-rules can test no part (a list quantifier, say) is one rule whose
        # action evaluates it, not a synthetic value's rule and then the requirement's two rules.
        in_python = {n.name: n for n in law.requirements if self._conditions.wholly_in_python(n.expr)}
        for node in [*order, *law.requirements]:
            if node.name in in_python or (node.kind != "requirement" and node.type != "boolean"):
                continue
            if node.kind == "requirement" or not self._conditions.wholly_in_python(node.expr):
                conditions[node.name] = self._conditions.boolean_rules(node.expr)
        # "Computed" values are worked out in Python by their rule's action (non-boolean derived values,
        # computations, boolean ones that durable-rules cannot test, and the synthetic parts of conditions);
        # the other boolean ones are decided by the network.
        computed: dict[str, Node | Synthetic] = {n.name: n for n in order if n.name not in conditions}
        computed.update(self._synthetic)
        computed.update(in_python)
        reads: dict[str, frozenset[str]] = {name: node.reads for name, node in computed.items()}
        for node in [*order, *law.requirements]:
            if node.name in conditions:
                reads[node.name] = node.reads | frozenset(self._conditions.synthetic_in(conditions[node.name][0]))
        # A computed value's action first computes, on demand, the computed values it reads; so its rule
        # waits only for the facts (and network-decided values) it needs transitively.
        needs: dict[str, frozenset[str]] = {}

        def needed(name: str) -> frozenset[str]:
            if name not in needs:
                direct = reads.get(name, frozenset())
                out: set[str] = set()
                for read in direct:
                    out |= needed(read) if read in computed else {read}
                needs[name] = frozenset(out)
            return needs[name]

        levels: dict[str, int] = {}
        # With ``computations_for: admitted`` the computations (and the synthetic parts that only their
        # conditions read) wait for the case to be admitted: their rules sit on levels after every other
        # rule's, and also test the mark that the decision rule puts in the facts of those levels.
        gated: set[str] = set()
        if law.computations_for == "admitted":
            gated = set(law.computations)
            readers: dict[str, set[str]] = {}
            for name, (true_rule, _) in conditions.items():
                for synthetic in self._conditions.synthetic_in(true_rule):
                    readers.setdefault(synthetic, set()).add(name)
            gated |= {synthetic for synthetic, names in readers.items() if names <= gated}
        first_gated = 0

        def level(name: str) -> int:
            """The level at which the rule of ``name`` fires: when everything it waits for is known."""
            if name not in levels:
                waits = needed(name) if name in computed else reads[name]
                levels[name] = max([first_gated if name in gated else 0, *(available(r) for r in waits)])
            return levels[name]

        def available(name: str) -> int:
            return level(name) + 1 if name in reads else 0

        # "Every requirement true" is a rule (Kleene's all-true; any-false is each requirement's F rule). It
        # sits at the level where the last requirements are decided and reads those requirements' own
        # conditions, and the outcomes of the earlier requirements, which travel as values; so no further
        # fact is asserted. When that rule is too long for durable-rules, it reads every outcome at one more
        # level (``decision_apart``). Nothing but a waiting rule reads what waits (the compiler refuses a
        # requirement or derived value reading a computation, C007), so the other levels come first.
        for name in reads:
            if name not in gated:
                level(name)
        last = max((level(r.name) + (r.name in in_python) for r in law.requirements), default=0)
        decision_level = last + 1 if decision_apart else last
        first_gated = max([decision_level, *levels.values()]) + 1
        for name in reads:
            level(name)
        self.levels = max([decision_level, *levels.values()]) + 1
        self.admitted_level = first_gated if gated else None  # facts from here on are asserted once admitted

        # A computed value's rule has no condition but its level: by then every value it reads is known, or
        # unknown for good. Facts and parameters are in the case's values (unknown ones as Unknown); a boolean
        # the network decides is absent when neither of its rules fired, and the action that reads it first
        # puts it there as Unknown (see _mark_unknown). The action then computes the value exactly, unknown
        # (with the facts it misses) when an input is, as Kleene logic says. Testing in the network that the
        # inputs exist would cost an alpha node per input on every case (about 4 µs a case on ISCRO 2024,
        # measured), and would leave unknown a value that Kleene logic knows (``se(x, 0, 0)``).
        self._decided_reads = {name: reads[name] for name in conditions if name not in self._requirement_keys}
        self._undecided = tuple(self._decided_reads)  # what run() marks unknown when the network left it so
        self._undecided_before = tuple(name for name in self._decided_reads if name not in gated)
        for name, value_node in computed.items():
            chain = [d for d in transitive(name, reads, computed) if d != name]
            decided = tuple(sorted(r for r in needed(name) if r in self._decided_reads))
            make = self._decide if name in in_python else self._compute
            self._add_rule(levels[name], None, partial(make, value_node, tuple(chain),
                                                       {n: computed[n].evaluate for n in chain}, decided))
        for node in order:
            if node.name in conditions:
                true_rule, false_rule = conditions[node.name]
                self._add_rule(levels[node.name], true_rule, partial(self._set_value, node.name, True))
                self._add_rule(levels[node.name], false_rule, partial(self._set_value, node.name, False))
        for node in law.requirements:
            if node.name in in_python:
                continue
            true_rule, false_rule = conditions[node.name]
            key = self._requirement_keys[node.name]
            self._add_rule(levels[node.name], true_rule, partial(self._set_requirement, node.name, key, True))
            self._add_rule(levels[node.name], false_rule, partial(self._set_requirement, node.name, key, False))
        every = [conditions[node.name][0] if node.name in conditions and levels[node.name] == decision_level
                 else {self._alias(self._requirement_keys[node.name]): True} for node in law.requirements]
        waiting = tuple(range(first_gated, self.levels)) if gated else ()
        self._add_rule(decision_level, {"$and": every},
                       partial(self._admit, fragment(self._alias(_ADMITTED), True), waiting))
        names = {*self._native_types, *self._synthetic, *self._requirement_keys.values()}
        texts = [(self._rule_levels[rule], json.dumps(spec)) for rule, spec in self._rules.items()]
        for name in names:
            alias = self._aliases.get(name)
            reading = sorted({level for level, text in texts if f'"{alias}"' in text}) if alias else []
            if reading:
                self._readers[name] = tuple(reading)

    def _add_rule(self, level: int, condition: Any, make: Callable[[], Action]) -> None:
        """A rule, and how to make its action once the network is complete (an action needs to know which
        levels read each value it sets)."""
        name = _rule_name(len(self._rules))
        parts: list[Any] = [{_LEVEL: level}]
        if self.admitted_level is not None and level >= self.admitted_level:
            parts.append({self._alias(_ADMITTED): True})  # waits for the case to be admitted
        if condition is not None:
            parts.append(condition)
        self._rules[name] = {"all": [{"m": {"$and": parts}}]}
        self._rule_levels[name] = level
        self._makers[name] = make

    # -- actions: run when durable-rules fires a rule --------------------------------------------------

    # Each action receives the case's values, the JSON fragments that each later level's fact will carry
    # (one list per level: a value travels only to the levels whose rules read it), and the outcome.

    def _steps(self, node: Node | Synthetic, chain: tuple[str, ...], evaluators: dict[str, Evaluator],
               ) -> tuple[tuple[str, Evaluator, Any, tuple[int, ...]], ...]:
        """The values an action computes in order (``chain``, what ``node`` reads, then ``node``), each with
        its evaluator, its encoder and the levels whose facts carry it."""
        runs = [*((dep, evaluators[dep]) for dep in chain), (node.name, node.evaluate)]
        return tuple((dep, run, *self._encoders_of.get(dep, (None, ()))) for dep, run in runs)

    def _compute(self, node: Node | Synthetic, chain: tuple[str, ...], evaluators: dict[str, Evaluator],
                 decided: tuple[str, ...]) -> Action:
        """The action of a computed value: compute what it reads (if not yet done), then itself; each value
        computed joins the facts of the levels whose rules read it."""
        steps = self._steps(node, chain, evaluators)
        name, run, encode, levels = steps[-1]
        on_demand = self._on_demand(steps, decided)

        if not levels:  # no rule reads the value (an output, say): keep it, nothing to encode
            def keep(values: dict[str, Any], fragments: list[list[str]], outcome: Outcome) -> None:
                if name not in values:  # else computed already, on demand, by a value that reads it
                    try:
                        values[name] = run(values)
                    except KeyError:
                        on_demand(values, fragments)

            return keep

        def action(values: dict[str, Any], fragments: list[list[str]], outcome: Outcome) -> None:
            if name in values:  # computed already, on demand, by the action of a value that reads it
                return
            try:
                value = values[name] = run(values)
            except KeyError:
                on_demand(values, fragments)
                return
            if value.__class__ is not Unknown:
                text = encode(value)
                for level in levels:
                    fragments[level].append(text)

        return action

    def _decide(self, node: Node | Synthetic, chain: tuple[str, ...], evaluators: dict[str, Evaluator],
                decided: tuple[str, ...]) -> Action:
        """The action of a requirement decided in Python: its outcome (none when Kleene logic says unknown),
        after what it reads when that is not there yet (as for :meth:`_compute`)."""
        on_demand = self._on_demand(self._steps(node, chain, evaluators)[:-1], decided)
        name, run = node.name, node.evaluate
        satisfy, refuse = self._set_requirement(name, self._requirement_keys[name], True), \
            self._set_requirement(name, self._requirement_keys[name], False)

        def action(values: dict[str, Any], fragments: list[list[str]], outcome: Outcome) -> None:
            try:
                verdict = run(values)
            except KeyError:
                on_demand(values, fragments)
                verdict = run(values)
            if verdict is True:
                satisfy(values, fragments, outcome)
            elif verdict is False:
                refuse(values, fragments, outcome)

        return action

    def _on_demand(self, steps: tuple[tuple[str, Evaluator, Any, tuple[int, ...]], ...],
                   decided: tuple[str, ...]) -> Callable[[dict[str, Any], list[list[str]]], None]:
        """What an action does when something it reads is not there: computed values not computed yet
        (durable-rules fired its rule first), or a boolean the network left unknown."""
        mark_unknown = self._mark_unknown

        def on_demand(values: dict[str, Any], fragments: list[list[str]]) -> None:
            mark_unknown(decided, values)
            for step in steps:
                _compute_step(step, values, fragments)

        return on_demand

    def _mark_unknown(self, names: tuple[str, ...], values: dict[str, Any]) -> None:
        """Put each boolean of ``names`` that the network left undecided (neither of its rules fired, as its
        level is past) in ``values`` as Unknown, with the facts it misses, so that an action can read it."""
        for name in names:
            if name in values:
                continue
            missing: set[str] = set()
            for read in self._decided_reads[name]:  # what its conditions read, synthetic parts included
                if read not in values and read in self._decided_reads:
                    self._mark_unknown((read,), values)
                value = values.get(read)
                if isinstance(value, Unknown):
                    missing |= value.missing
            values[name] = Unknown(frozenset(missing))

    def _set_value(self, name: str, value: bool) -> Action:
        text = fragment(self._alias(name), value)
        levels = self._readers.get(name, ())

        def action(values: dict[str, Any], fragments: list[list[str]], outcome: Outcome) -> None:
            values[name] = value
            for level in levels:
                fragments[level].append(text)

        return action

    def _set_requirement(self, name: str, key: str, value: bool) -> Action:
        if not value:  # the case is refused; the decision rule, the only reader of outcomes, tests for true
            def refuse(values: dict[str, Any], fragments: list[list[str]], outcome: Outcome) -> None:
                outcome.requirements[name] = False
                outcome.decision = "respinto"

            return refuse
        text = fragment(self._alias(key), True)
        levels = self._readers.get(key, ())

        def satisfy(values: dict[str, Any], fragments: list[list[str]], outcome: Outcome) -> None:
            outcome.requirements[name] = True
            for level in levels:
                fragments[level].append(text)

        return satisfy

    @staticmethod
    def _admit(mark: str, waiting: tuple[int, ...]) -> Action:
        """The decision rule's action; it also puts the mark that the rules waiting for an admitted case test
        in the facts of their levels."""

        def action(values: dict[str, Any], fragments: list[list[str]], outcome: Outcome) -> None:
            outcome.decision = "ammesso"
            for level in waiting:
                fragments[level].append(mark)

        return action

    # -- running ---------------------------------------------------------------------------------------

    def _create(self) -> Any:
        name = f"regole:{self._law.key}:{next(_names)}"
        try:
            return _durable.create_ruleset(name, json.dumps(self._rules))
        except _durable.error as exc:
            raise KernelError(_("durable-rules refused the network of {key}: {error}").format(
                key=self._law.key, error=exc)) from exc

    def run(self, values: dict[str, Any], parameters_key: Hashable | None = None) -> Outcome:
        """Evaluate one case. ``values`` holds facts and parameters (Unknown when not known).

        ``parameters_key``, when given, is a key that fixes the parameters' values (the selecting date, for
        instance): their JSON is then worked out once per key, since every case of that day shares it.

        Each level's fact is asserted, the actions of the rules it matches run (they add the values they
        compute to the facts of later levels), and it is retracted. At the end every value of the law
        version is in ``values``: a boolean the network left undecided as Unknown, and the values waiting
        for an admitted case, when it is not, not at all."""
        outcome = Outcome(values, self._no_outcomes.copy(), "indeterminato")
        fragments = self._fragments_of_parameters(values, parameters_key)
        _encode_into(fragments, self._fact_encoders, values)
        actions, admitted_level = self._actions, self.admitted_level
        assert_fact, retract_fact = _durable.assert_fact, _durable.retract_fact
        start, complete = _durable.start_action_for_state, _durable.complete_and_start_action
        with self._lock:
            handle = self._handle
            try:
                for level, head in enumerate(self._heads):
                    if level == admitted_level and outcome.decision != "ammesso":
                        break  # what is left waits for an admitted case: no rule there can fire
                    fact_id = next(self._ids)
                    body = ",".join(fragments[level])
                    result = assert_fact(handle, f'{{"id":{fact_id},{head}{body}}}' if body else
                                         f'{{"id":{fact_id},{head[:-1]}}}')
                    try:
                        if result[0] == 0:
                            state = result[1]
                            started = start(handle, state)
                            message = started[1] if started else None
                            while message:  # '{"r00012":{...}}': the name of the rule that fired, then its match
                                actions[message[2:_NAME_END]](values, fragments, outcome)
                                message = complete(handle, state)
                    finally:
                        retract_fact(handle, f'{{"id":{fact_id},"sid":"0"}}')
            except (EvaluationError, _durable.error, ValueError, TypeError, KeyError) as exc:
                self._handle = self._create()  # a failed evaluation must not leave state behind
                raise KernelError(_("evaluation failed in the rule kernel: {error}").format(error=exc)) from exc
            except BaseException:  # anything else (a bug, an interrupt) is raised as it is, on a clean network
                self._handle = self._create()
                raise
        self._mark_unknown(self._undecided if outcome.decision == "ammesso" else self._undecided_before, values)
        return outcome

    def _fragments_of_parameters(self, values: dict[str, Any], key: Hashable | None) -> list[list[str]]:
        """Each level's JSON fragments of the parameters' values (a fresh list per level, for the case)."""
        cached = self._parameter_fragments.get(key) if key is not None else None
        if cached is None:
            cached = [[] for _ in range(self.levels)]
            _encode_into(cached, self._parameter_encoders, values)
            if key is not None:
                if len(self._parameter_fragments) > 10_000:  # bounded: a key per day, and days repeat
                    self._parameter_fragments.clear()
                self._parameter_fragments[key] = cached
        return [list(level) for level in cached]


_NAME_DIGITS = 5
_NAME_END = 3 + _NAME_DIGITS  # a firing message starts with '{"' and the rule's name


def _rule_name(index: int) -> str:
    """The name of the ``index``-th rule: fixed width, so a firing message gives it by slicing."""
    if index >= 10**_NAME_DIGITS:
        raise KernelError(_("a law version needs more than {limit} rules").format(limit=10**_NAME_DIGITS))
    return f"r{index:0{_NAME_DIGITS}d}"


def _compute_step(step: tuple[str, Evaluator, Any, tuple[int, ...]], values: dict[str, Any],
                  fragments: list[list[str]]) -> None:
    """Compute one value of an action's chain, unless known, and add it to the levels that read it."""
    name, run, encode, levels = step
    if name not in values:
        _store(name, run(values), encode, levels, values, fragments)


def _store(name: str, value: Any, encode: Any, levels: tuple[int, ...], values: dict[str, Any],
           fragments: list[list[str]]) -> None:
    """Keep a computed value, and add its JSON to the facts of the levels whose rules read it."""
    values[name] = value
    if levels and value.__class__ is not Unknown:
        text = encode(value)
        for level in levels:
            fragments[level].append(text)


def _encode_into(fragments: list[list[str]], encoders: list[tuple[str, Callable[[Any], str], tuple[int, ...]]],
                 values: dict[str, Any]) -> None:
    """Append the JSON of each known value named in ``encoders`` to the fragments of the levels reading it."""
    for name, encode, levels in encoders:
        value = values.get(name)
        if value is None or value.__class__ is Unknown:
            continue
        if len(levels) == 1:
            fragments[levels[0]].append(encode(value))
        else:
            text = encode(value)
            for level in levels:
                fragments[level].append(text)
