"""The exercise-check framework: verdicts for correct, wrong, crashing and unattempted answers."""

from helpers.checks import Mistake, run_check


def test_verdicts():
    assert run_check("t", lambda: None).ok

    def wrong():
        raise Mistake("sign", "the sign is flipped", "look at the minus")

    verdict = run_check("t", wrong)
    assert (verdict.status, verdict.mistake, verdict.hint) == ("wrong", "sign", "look at the minus")
    assert "the sign is flipped" in str(verdict) and "Hint" in verdict._repr_html_()

    def stub():
        raise NotImplementedError()

    assert run_check("t", stub).status == "not attempted"
    crashed = run_check("t", lambda: 1 / 0)
    assert crashed.status == "wrong" and "ZeroDivisionError" in crashed.message
