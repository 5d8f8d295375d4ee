"""regole: Italian social-security law as data, evaluated on a durable-rules Rete network.

The public API::

    from engine import evaluate, explain

    result = evaluate({"data_domanda": "2024-09-10", ...}, family="iscro")
    result.decision                  # "ammesso" | "respinto" | "indeterminato"
    print(explain(result))           # the Italian explanation, citing every source
    result.to_json()                 # the full trace as JSON (money as strings, dates ISO)
"""

from ._compile import LawVersion, load_ruleset
from ._explain import Explainer, explain
from ._run import Library, evaluate
from ._trace import ComputedValue, RequirementResult, Result, Values
from ._values import NotComputed, Unknown
from ._version import __version__
from .errors import (
    ExpressionError,
    FactsError,
    KernelError,
    OutputPathError,
    Problem,
    RegoleError,
    RulesetError,
    RulesetSchemaError,
    TemplateError,
    VersionSelectionError,
    YamlSyntaxError,
)

__all__ = [
    "ComputedValue",
    "Explainer",
    "ExpressionError",
    "FactsError",
    "KernelError",
    "LawVersion",
    "Library",
    "NotComputed",
    "OutputPathError",
    "Problem",
    "RegoleError",
    "RequirementResult",
    "Result",
    "RulesetError",
    "RulesetSchemaError",
    "TemplateError",
    "Unknown",
    "Values",
    "VersionSelectionError",
    "YamlSyntaxError",
    "__version__",
    "evaluate",
    "explain",
    "load_ruleset",
]
