from portaflow import pipeline

@pipeline
def p(:  # E: PF100
    pass
