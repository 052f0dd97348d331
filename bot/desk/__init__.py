"""The human desk: ticket rules (tickets.py) and limits in working time (policy.py, workdays.py), which events close
a ticket (history.py), the staff service (staff.py, people.py), a ticket as each audience reads it (ticket_text.py),
the daily digest, and the outbox that delivers staff answers."""
