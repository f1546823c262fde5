"""Output shapes of photos and flags. GPS coordinates never leave the database: only `has_gps`."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evidence.flags import earlier_unit_id, flag_details, flag_message
from evidence.models import EvidenceFlag, Photo


def _visible(flag: EvidenceFlag, context: dict) -> bool:
    unit_id = earlier_unit_id(flag)
    return unit_id is not None and unit_id in context.get("visible_units", ())


class FlagSerializer(serializers.ModelSerializer):
    """`message` explains the flag in the reader's language; `details` holds the raw values. A flag
    naming another unit's report names it only to readers who may see that unit."""

    message = serializers.SerializerMethodField()
    details = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceFlag
        fields = ["id", "kind", "photo", "message", "details", "created_at"]

    def get_message(self, obj: EvidenceFlag) -> str:
        return flag_message(obj, earlier_visible=_visible(obj, self.context))

    def get_details(self, obj: EvidenceFlag) -> dict:
        return flag_details(obj, earlier_visible=_visible(obj, self.context))


class PhotoSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True, help_text=_("Sanitised file name."))
    has_gps = serializers.BooleanField(read_only=True, help_text=_("The photo carried a GPS position."))
    thumbnail_url = serializers.SerializerMethodField(help_text=_("About 320 px; null until ready."))
    preview_url = serializers.SerializerMethodField(help_text=_("About 1280 px; null until ready."))
    flags = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = [
            "id",
            "position",
            "name",
            "status",
            "error",
            "format",
            "size",
            "width",
            "height",
            "taken_at",
            "has_exif",
            "has_gps",
            "thumbnail_url",
            "preview_url",
            "flags",
        ]

    def _url(self, obj: Photo, name: str) -> str | None:
        if obj.status != Photo.Status.READY:
            return None
        return reverse(name, kwargs={"photo_id": obj.pk})

    def get_thumbnail_url(self, obj: Photo) -> str | None:
        return self._url(obj, "photo-thumbnail")

    def get_preview_url(self, obj: Photo) -> str | None:
        return self._url(obj, "photo-preview")

    @extend_schema_field(FlagSerializer(many=True))
    def get_flags(self, obj: Photo) -> list:
        flags = self.context.get("photo_flags", {}).get(obj.pk, [])
        # many=True builds a ListSerializer (its .data is a list); the stubs type it as the child.
        return FlagSerializer(flags, many=True, context=self.context).data  # type: ignore[return-value]


def evidence_of(submission, context: dict) -> dict:
    """The `photos` and `flags` of a submission, from its prefetched photos and flags (no query then)."""
    by_photo: dict[int, list[EvidenceFlag]] = {}
    own: list[EvidenceFlag] = []
    for flag in submission.flags.all():
        if flag.photo_id is None:
            own.append(flag)
        else:
            by_photo.setdefault(flag.photo_id, []).append(flag)
    inner = {**context, "photo_flags": by_photo}
    return {
        "photos": PhotoSerializer(submission.photos.all(), many=True, context=inner).data,
        "flags": FlagSerializer(own, many=True, context=context).data,
    }
