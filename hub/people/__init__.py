"""People: learners, classes, staff and assignments (models), class rosters (roster), PIN and
password sign-in with its throttle (signin, auth), signed-in sessions and the devices they
come from.
"""
