"""GameDays: experiments, pauses and checkpoints run in order as one exercise, one report.

From YAML (``chaoskit gameday FILE``) or from a Python script::

    from chaoskit.gameday import GameDay, Step, run_gameday

    gameday = GameDay(title="Monkey then Gorilla", steps=[
        Step(experiment="experiments/netflix_instance.yaml"),
        Step(pause="10s"),
        Step(checkpoint="Dashboards green? Then on to the zone."),
        Step(experiment="experiments/netflix_az.yaml"),
    ])
    raise SystemExit(run_gameday(gameday).exit_code)
"""

from chaoskit.gameday.loader import load_gameday, plan
from chaoskit.gameday.model import GameDay, GameDayRecord, Step, StepRecord
from chaoskit.gameday.report import render_gameday_html, write_gameday_reports
from chaoskit.gameday.run import GameDayResult, run_gameday

__all__ = ["GameDay", "GameDayRecord", "GameDayResult", "Step", "StepRecord", "load_gameday",
           "plan", "render_gameday_html", "run_gameday", "write_gameday_reports"]
