"""The editors' draft queue of each event, all of it here.

- views.py: the admin pages (/admin/publishing/post/queue/ and …/queue/<event_id>/) and their decisions (POSTs),
  routed by PostAdmin.get_urls;
- moderation.py: the form that checks a decision and the handlers that apply it (shared with the post
  changelist's actions);
- html.py: a draft's check as the editor sees it;
- live.py: the queue's state and version, who is editing, the notices of a change;
- consumers.py and routing.py: the socket /ws/queue/<event_id>/ that tells an open page to look again.

Its templates are publishing/templates/admin/publishing/queue_index.html and queue.html; its script and style
publishing/static/publishing/queue.js and queue.css.
"""
