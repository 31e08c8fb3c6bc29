"""Model lifecycle for engineers: dataset checks, evaluation, export, verdict datasets, shadow runs."""
