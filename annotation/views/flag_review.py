"""/manage/flags/: images withdrawn after annotators flagged them, for an admin to review."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from annotation.judging import restore_image, withdrawn_images
from annotation.models import AuditAction, Image
from annotation.projects import record_event
from core.access import admin_required


@admin_required
def flagged_images(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        raw = request.POST.get("image", "")
        if not raw.isdigit():
            messages.error(request, "Choose an image to restore (its id was missing).")
        else:
            tasks = restore_image(int(raw))
            image = Image.objects.select_related("project").filter(pk=int(raw)).first()
            record_event(
                AuditAction.IMAGE_RESTORED,
                actor=request.user,
                project=image.project if image else None,
                target=f"image {raw}",
                before={"withdrawn": True},
                after={"withdrawn": False, "tasks_reactivated": tasks},
            )
            messages.success(
                request, f"Image {raw} is back in circulation; {tasks} task(s) reactivated."
            )
        return redirect("flagged-images")
    return render(request, "annotation/flagged_images.html", {"images": withdrawn_images()})
