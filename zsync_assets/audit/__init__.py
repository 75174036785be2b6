"""What people read about a sync: the `audit.*` views over the staged tables, plans, links and
push log (views.py, sql.py), the findings the asset checks report (checks.py), and the operator's
answers built on them (status.py for `zsync status`, why.py for `zsync why`).

It sits above the flows: the views are derived from the flows' declarations, so adding a flow
adds its rows here with no edit (layers: cli -> defs -> audit -> flows -> engine -> lib).
"""
