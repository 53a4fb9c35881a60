"""Forms of the segmentation admin that spare people JSON: the feature list as checkboxes."""

from __future__ import annotations

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .admin_builder import unit_label
from .conf import segmentation_settings
from .features import registry
from .models import Segmentation
from .rules.text import normalise_lang


def feature_choices() -> list[tuple[str, str]]:
    """Every registered feature as "label (unit)" in the user's language."""
    lang = normalise_lang(get_language() or "en")
    choices = []
    for info in registry.catalog().values():
        unit = unit_label(info.unit)
        label = info.label(lang)
        choices.append((info.name, f"{label} ({unit})" if unit else label))
    return choices


class SegmentationForm(forms.ModelForm):
    """``features`` as checkboxes; ticking exactly the default set stores "default" (empty)."""

    features = forms.MultipleChoiceField(
        label=_("features"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("What the segments are found on. The ticked ones when you start are the "
                    "default behavioural set."),
    )

    class Meta:
        model = Segmentation
        fields = ["name", "description", "features", "algorithm", "n_clusters", "k_min",
                  "k_max", "max_leaves", "sample_size", "random_seed"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["features"].choices = feature_choices()
        chosen = self.instance.features if self.instance.pk and self.instance.features \
            else list(segmentation_settings.DEFAULT_FEATURES)
        self.initial["features"] = [name for name in chosen if name in registry]

    def clean_features(self) -> list[str]:
        chosen = self.cleaned_data["features"]
        if not chosen:
            raise forms.ValidationError(_("Tick at least one feature."))
        ordered = [name for name in registry.names() if name in chosen]
        defaults = set(segmentation_settings.DEFAULT_FEATURES) & set(registry.names())
        return [] if set(ordered) == defaults else ordered
