"""Data: the dataset registry (``registry``), where images come from (``sources``), reading
people's images (``images``, ``handwriting``) and augmentation (``augment``)."""
