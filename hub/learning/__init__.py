"""Learning: the append-only progress events and the progress folded from them (events),
graded quiz attempts (quiz), reports for coaches and operators, and a learner's own home.
"""
