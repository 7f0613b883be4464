"""The Django admin's forms as an editor's browser sends them."""

from django.urls import reverse

from publishing.models import Post


def change_form_data(client, post: Post) -> dict:
    """What the admin change form of `post` sends back unchanged: its fields and its inlines' management forms."""
    page = client.get(reverse("admin:publishing_post_change", args=[post.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False or form.fields[name].disabled:
            continue
        data[name] = "on" if value is True else value
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(name): management[name].value() for name in management.fields})
    return data
