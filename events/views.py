from django.shortcuts import get_object_or_404, render

from events.models import Event


def event_index(request):
    events = Event.objects.public()
    return render(
        request,
        "events/index.html",
        {
            "live_events": events.live(),
            "upcoming_events": events.filter(status=Event.Status.SCHEDULED).order_by("starts_at"),
            "past_events": events.filter(status=Event.Status.ENDED),
        },
    )


def event_detail(request, slug):
    event = get_object_or_404(Event.objects.public(), slug=slug)
    posts = event.posts.published().select_related("author")
    return render(request, "events/detail.html", {"event": event, "posts": posts})


def post_detail(request, slug, post_id):
    event = get_object_or_404(Event.objects.public(), slug=slug)
    post = get_object_or_404(event.posts.published(), pk=post_id)
    return render(request, "events/post.html", {"event": event, "post": post})
