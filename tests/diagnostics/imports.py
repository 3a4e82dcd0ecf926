import json

from portaflow import pipeline
from pkg.missing import gone
from pkg.present import real


@pipeline
def p():
    real()
    gone()  # E: PF120
    json.dumps()  # E: PF204
