"""The guide's school: students in clubs (a plain link) and in courses (a link with data)."""
