"""The editors' draft queue of each event, all of it here.

views.py: the admin pages (/admin/publishing/post/queue/…, routed by PostAdmin.get_urls) and their POSTs;
moderation.py: the decisions' form and handlers; html.py: a draft's check as shown; live.py: state, version
and who is editing; consumers.py, routing.py: the socket /ws/queue/<event_id>/. Templates, script and style:
publishing/templates/admin/publishing/queue*.html, publishing/static/publishing/queue.*.
"""
