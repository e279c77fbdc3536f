"""``resilient-cloud bench``: plain botocore vs resilient_cloud, side by side,
on a fake cloud with injected faults (install the ``bench`` extra)."""
