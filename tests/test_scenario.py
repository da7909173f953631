"""Scenario files: the paper's example loads; every malformed file gives its one-line message."""

import re
from pathlib import Path

import numpy as np
import pytest

from market.scenario import (
    DEFAULT_SEED,
    ScenarioError,
    build_entropy,
    build_urgency,
    load_scenario,
    parse_scenario,
)
from market.theory.information import Mahalanobis, Quadratic, Shannon

PAPER_EXAMPLE = Path(__file__).parent.parent / "scenarios" / "paper_example.toml"

INFORMATION = """
[information]
prior = [0.5, 0.5]
entropy = "quadratic"
token_rate = 0.125
"""

URGENCY = """
[urgency]
distribution = "uniform"
low = 1.0
high = 2.0
"""


def scenario_text(information: str = INFORMATION, urgency: str = URGENCY, top: str = "") -> str:
    return f'name = "t"\ndescription = "test"\n{top}\n{information}\n{urgency}'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str):
    return load_scenario(write(tmp_path, text))


def information(**lines: str) -> str:
    """The [information] table of the example with some lines replaced (value None: removed)."""
    table = {"prior": "[0.5, 0.5]", "entropy": '"quadratic"', "token_rate": "0.125"}
    table.update(lines)
    body = "\n".join(f"{k} = {v}" for k, v in table.items() if v is not None)
    return f"[information]\n{body}\n"


def urgency(body: str) -> str:
    return f"[urgency]\n{body}\n"


# -- the paper's example ----------------------------------------------------------------------


def test_paper_example_loads():
    s = load_scenario(PAPER_EXAMPLE)
    assert s.name == "paper-example"
    assert s.seed == DEFAULT_SEED
    np.testing.assert_array_equal(s.prior, [0.5, 0.5])
    assert s.token_rate == 0.125  # χ = 1/8, Section 2.2
    assert isinstance(build_entropy(s), Quadratic)
    assert build_entropy(s).n == 2
    assert s.urgency_spec.distribution == "uniform"
    assert (s.urgency_spec.low, s.urgency_spec.high) == (1.0, 2.0)
    assert s.market.users == 10000 and s.market.arrival_rate == 1.0
    assert s.policies == [] and s.policy_specs == ()
    assert s.raw["information"]["token_rate"] == 0.125
    assert s.source_text == PAPER_EXAMPLE.read_text(encoding="utf-8")
    assert s.source == str(PAPER_EXAMPLE)


def test_paper_example_urgency_is_uniform():
    dist = build_urgency(load_scenario(PAPER_EXAMPLE))
    np.testing.assert_allclose(dist.cdf(np.array([1.0, 1.5, 2.0])), [0.0, 0.5, 1.0])


def test_theory_error_names_the_file_and_the_field(tmp_path):
    # This positive-definite matrix (found by a random search) takes the greedy path out of
    # Assumption 1(ii) (docs/paper-notes.md, erratum 6): the theory raises in its own words,
    # the scenario layer names the file and the field.
    from market.scenario import build_greedy

    matrix = "[[10.97, -0.09, -3.89], [-0.09, 0.67, 1.44], [-3.89, 1.44, 4.98]]"
    table = information(entropy='"mahalanobis"', prior="[0.5, 0.3, 0.2]", token_rate="0.2")
    path = write(
        tmp_path, scenario_text(table.replace("[information]", f"[information]\nmatrix = {matrix}"))
    )
    with pytest.raises(ScenarioError) as info:
        build_greedy(load_scenario(path))
    message = str(info.value)
    assert message.startswith(f"{path}: information.matrix: the greedy belief of active state 1")
    assert "violates Assumption 1(ii)" in message


def test_paper_example_file_is_as_specified():
    # Shown verbatim in the documentation: keep the comments and the order.
    assert PAPER_EXAMPLE.read_text(encoding="utf-8").splitlines()[0] == 'name = "paper-example"'


def test_scenario_is_frozen():
    s = load_scenario(PAPER_EXAMPLE)
    with pytest.raises(ValueError):
        s.name = "other"


def test_optional_tables(tmp_path):
    text = scenario_text(
        top="seed = 7\n[market]\nusers = 5\narrival_rate = 2.5\n"
        '[[policies]]\nkind = "tiers"\nname = "two"\ncount = 2\n'
    )
    s = load_text(tmp_path, text)
    assert s.seed == 7
    assert (s.market.users, s.market.arrival_rate) == (5, 2.5)
    assert s.policy_specs == ({"kind": "tiers", "name": "two", "count": 2},)


def test_policies_are_checked_when_the_scenario_loads(tmp_path):
    # The policy tables (market.scenario.policies.parse_policy) name the policy and the field.
    text = scenario_text(top='[[policies]]\nkind = "optimal"\nname = "opt"\n')
    with pytest.raises(ScenarioError, match=r"policies\[0\].*kind = 'optimal': expected one of"):
        load_text(tmp_path, text)


def test_shannon_and_mahalanobis(tmp_path):
    s = load_text(tmp_path, scenario_text(information(entropy='"shannon"')))
    assert isinstance(build_entropy(s), Shannon)
    text = scenario_text(information(entropy='"mahalanobis"', matrix="[[2.0, -0.5], [-0.5, 1]]"))
    ent = build_entropy(load_text(tmp_path, text))
    assert isinstance(ent, Mahalanobis)
    np.testing.assert_array_equal(ent.matrix, [[2.0, -0.5], [-0.5, 1.0]])


def test_other_urgency_laws(tmp_path):
    laws = {
        "truncnorm": "mean = 1.5\nsd = 0.3\nlow = 1\nhigh = 2",
        "beta": "a = 2\nb = 3\nlow = 1\nhigh = 2",
        "mixture": "[[urgency.components]]\n"
        'distribution = "uniform"\nlow = 1\nhigh = 2\nweight = 1\n'
        "[[urgency.components]]\n"
        'distribution = "beta"\na = 2\nb = 2\nlow = 1\nhigh = 3\nweight = 0.5',
    }
    for name, body in laws.items():
        head, _, rest = body.partition("[[")
        table = f'distribution = "{name}"\n{head}' + (f"[[{rest}" if rest else "")
        s = load_text(tmp_path, scenario_text(urgency=urgency(table)))
        assert s.urgency_spec.distribution == name
    assert [c.weight for c in s.urgency_spec.components] == [1.0, 0.5]


# -- malformed files --------------------------------------------------------------------------

MALFORMED = {
    "missing key": (
        scenario_text(information(token_rate=None)),
        r"information\.token_rate: missing \(required\)$",
    ),
    "missing table": (
        'name = "t"\ndescription = ""\n' + URGENCY,
        r"information: missing \(required\)$",
    ),
    "unknown top-level key": (
        scenario_text(top="foo = 1"),
        r"foo: unknown key; expected one of: name, description, seed, information, urgency, "
        r"market, users, platform, valuation, costs, units, policies$",
    ),
    "unknown nested key": (
        scenario_text(information(tokenrate="1")),
        r"information\.tokenrate: unknown key; did you mean 'token_rate'\?$",
    ),
    "unknown key in a mixture component": (
        scenario_text(
            urgency=urgency(
                'distribution = "mixture"\n[[urgency.components]]\n'
                'distribution = "uniform"\nlow = 1\nhigh = 2\nweight = 1\nmean = 3'
            )
        ),
        r"urgency\.components\[0\]\.mean: unknown key; expected one of: distribution, ",
    ),
    "prior not summing to 1": (
        scenario_text(information(prior="[0.6, 0.6]")),
        r"information\.prior = \[0\.6, 0\.6\]: expected probabilities summing to 1 "
        r"\(they sum to 1\.2\)$",
    ),
    "negative prior entry": (
        scenario_text(information(prior="[1.0, -0.5]")),
        r"information\.prior\[1\] = -0\.5: expected a probability in \(0, 1\]",
    ),
    "prior of length 1": (
        scenario_text(information(prior="[1.0]")),
        r"information\.prior = \[1\.0\]: expected a list of at least 2 probabilities$",
    ),
    "prior entry not a number": (
        scenario_text(information(prior='[0.5, "0.5"]')),
        r"information\.prior\[1\] = '0\.5': expected a number$",
    ),
    "negative token rate": (
        scenario_text(information(token_rate="-1")),
        r"information\.token_rate = -1: expected a number > 0$",
    ),
    "zero token rate": (
        scenario_text(information(token_rate="0.0")),
        r"information\.token_rate = 0\.0: expected a number > 0$",
    ),
    "infinite token rate": (
        scenario_text(information(token_rate="inf")),
        r"information\.token_rate = inf: expected a finite number$",
    ),
    "unknown entropy": (
        scenario_text(information(entropy='"tsallis"')),
        r"information\.entropy = 'tsallis': expected 'quadratic', 'shannon', 'mahalanobis' or "
        r"'power'$",
    ),
    "mahalanobis without matrix": (
        scenario_text(information(entropy='"mahalanobis"')),
        r"information\.matrix: missing \(required when entropy = 'mahalanobis'\)$",
    ),
    "matrix not symmetric": (
        scenario_text(information(entropy='"mahalanobis"', matrix="[[1, 0.5], [0, 1]]")),
        r"information\.matrix: expected a symmetric positive-definite matrix "
        r"\(entry \[0\]\[1\] = 0\.5 but \[1\]\[0\] = 0\)$",
    ),
    "matrix not positive definite": (
        scenario_text(information(entropy='"mahalanobis"', matrix="[[1, 2], [2, 1]]")),
        r"information\.matrix: expected a symmetric positive-definite matrix "
        r"\(its smallest eigenvalue is -1\)$",
    ),
    "wrong matrix size": (
        scenario_text(
            information(entropy='"mahalanobis"', matrix="[[1, 0, 0], [0, 1, 0], [0, 0, 1]]")
        ),
        r"information\.matrix: expected a 2 x 2 matrix, one row per state of the prior "
        r"\(got 3 x 3\)$",
    ),
    "ragged matrix": (
        scenario_text(information(entropy='"mahalanobis"', matrix="[[1, 0], [0]]")),
        r"information\.matrix: expected a 2 x 2 matrix.*\(got rows of lengths \[2, 1\]\)$",
    ),
    "matrix for quadratic": (
        scenario_text(information(matrix="[[1, 0], [0, 1]]")),
        r"information\.matrix: expected no matrix when entropy = 'quadratic'",
    ),
    "low >= high": (
        scenario_text(urgency=urgency('distribution = "uniform"\nlow = 2.0\nhigh = 1.0')),
        r"urgency\.low = 2\.0: expected low < high = 1\.0$",
    ),
    "low == high": (
        scenario_text(urgency=urgency('distribution = "beta"\na=1\nb=1\nlow = 1.0\nhigh = 1.0')),
        r"urgency\.low = 1\.0: expected low < high = 1\.0$",
    ),
    "low <= 0": (
        scenario_text(urgency=urgency('distribution = "uniform"\nlow = 0.0\nhigh = 1.0')),
        r"urgency\.low = 0\.0: expected a number > 0$",
    ),
    "sd <= 0": (
        scenario_text(
            urgency=urgency('distribution = "truncnorm"\nmean = 1.5\nsd = -0.1\nlow = 1\nhigh = 2')
        ),
        r"urgency\.sd = -0\.1: expected a number > 0$",
    ),
    "beta a <= 0": (
        scenario_text(urgency=urgency('distribution = "beta"\na = 0\nb = 1\nlow = 1\nhigh = 2')),
        r"urgency\.a = 0: expected a number > 0$",
    ),
    "unknown distribution": (
        scenario_text(urgency=urgency('distribution = "gamma"\nlow = 1\nhigh = 2')),
        r"urgency\.distribution = 'gamma': expected one of 'uniform', 'truncnorm', 'beta', "
        r"'mixture'$",
    ),
    "missing distribution": (
        scenario_text(urgency=urgency("low = 1\nhigh = 2")),
        r"urgency\.distribution: missing \(required: one of 'uniform', ",
    ),
    "mixture weight <= 0": (
        scenario_text(
            urgency=urgency(
                'distribution = "mixture"\n[[urgency.components]]\n'
                'distribution = "uniform"\nlow = 1\nhigh = 2\nweight = 1\n'
                "[[urgency.components]]\n"
                'distribution = "uniform"\nlow = 1\nhigh = 2\nweight = 0.0'
            )
        ),
        r"urgency\.components\[1\]\.weight = 0\.0: expected a number > 0$",
    ),
    "mixture in a mixture": (
        scenario_text(
            urgency=urgency(
                'distribution = "mixture"\n[[urgency.components]]\ndistribution = "mixture"'
            )
        ),
        r"urgency\.components\[0\]\.distribution = 'mixture': expected one of 'uniform', "
        r"'truncnorm', 'beta'$",
    ),
    "low >= high in a component": (
        scenario_text(
            urgency=urgency(
                'distribution = "mixture"\n[[urgency.components]]\n'
                'distribution = "uniform"\nlow = 3.0\nhigh = 2.0\nweight = 1'
            )
        ),
        r"urgency\.components\[0\]\.low = 3\.0: expected low < high = 2\.0$",
    ),
    "empty name": (
        scenario_text().replace('name = "t"', 'name = ""'),
        r"name = '': expected a non-empty name of letters, digits",
    ),
    "name unusable as a folder": (
        scenario_text().replace('name = "t"', 'name = "a/b"'),
        r"name = 'a/b': expected a non-empty name of letters, digits",
    ),
    "negative seed": (scenario_text(top="seed = -1"), r"seed = -1: expected an integer >= 0$"),
    "float seed": (scenario_text(top="seed = 1.5"), r"seed = 1\.5: expected an integer$"),
    "zero users": (
        scenario_text(top="[market]\nusers = 0"),
        r"market\.users = 0: expected an integer from 1 to 1e\+09$",
    ),
    "policy without kind": (
        scenario_text(top='[[policies]]\nname = "x"'),
        r"policies\[0\] \(None 'x'\): kind = None: expected one of optimal_token_menu, ",
    ),
    "two policies with one name": (
        scenario_text(
            top='[[policies]]\nkind = "flat"\nname = "x"\n[[policies]]\nkind = "tiers"\n'
            'name = "x"\ncount = 2'
        ),
        r"policies\[1\]\.name = 'x': expected a name no other policy has \(policies\[0\] has it\)$",
    ),
    "table given as a number": (
        'name = "t"\ndescription = ""\ninformation = 3\n' + URGENCY,
        r"information = 3: expected a table$",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed(tmp_path, case):
    text, message = MALFORMED[case]
    with pytest.raises(
        ScenarioError, match="^" + re.escape(str(tmp_path / "bad.toml")) + ": " + message
    ):
        load_text(tmp_path, text)


@pytest.mark.parametrize("case", list(MALFORMED))
def test_messages_are_one_line(case):
    text, _ = MALFORMED[case]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "x.toml")
    message = str(info.value)
    assert "\n" not in message and "pydantic" not in message and "Traceback" not in message


def test_toml_syntax_error_names_the_line(tmp_path):
    text = 'name = "t"\ndescription = "test"\n[information\nprior = [0.5, 0.5]\n'
    with pytest.raises(ScenarioError, match=r"bad\.toml: invalid TOML: .*line 3"):
        load_text(tmp_path, text)


def test_missing_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"nowhere\.toml: file not found$"):
        load_scenario(tmp_path / "nowhere.toml")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"is a directory"):
        load_scenario(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(scenario_text().replace("test", "caf\xe9").encode("latin-1"))
    with pytest.raises(ScenarioError, match=r"latin\.toml: expected UTF-8 text$"):
        load_scenario(path)


def test_the_example_message_of_the_brief():
    text = scenario_text(information(token_rate="-1"))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "paper.toml")
    assert str(info.value) == "paper.toml: information.token_rate = -1: expected a number > 0"
