"""A folder of class sub-folders as image paths and labels, without torch.

Listing the folder reads no image and imports neither torch nor PIL, so
:func:`load_image_folder` (and :func:`skdisco.datasets.load_images`) stay cheap;
the paths are decoded batch by batch by a feature extractor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: File extensions :func:`load_image_folder` collects (lower case).
IMAGE_EXTENSIONS = (
    ".bmp",
    ".gif",
    ".jpeg",
    ".jpg",
    ".pgm",
    ".png",
    ".ppm",
    ".tif",
    ".tiff",
    ".webp",
)


def load_image_folder(path, *, extensions=IMAGE_EXTENSIONS):
    """List the images of a folder of class sub-folders, with their labels.

    The layout is torchvision's ``ImageFolder`` one: ``path/<class>/<image>``.
    Nothing is decoded here; pass the returned paths to a feature extractor, which
    decodes them batch by batch.

    Parameters
    ----------
    path : str or path-like
        Root folder; each sub-folder is a class named after the folder.
    extensions : tuple of str, default=IMAGE_EXTENSIONS
        File extensions (lower case, with the dot) that count as images.

    Returns
    -------
    paths : list of str
        Image file paths, sorted by class then file name.
    y : ndarray of shape (n_images,)
        The class (sub-folder name) of each image, as strings.

    Raises
    ------
    ValueError
        If ``path`` is not a folder or holds no image in any sub-folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skdisco.features import load_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for label in ("cat", "dog"):
    ...     (root / label).mkdir()
    ...     Image.fromarray(np.zeros((8, 8), np.uint8)).save(root / label / "a.png")
    >>> paths, y = load_image_folder(root)
    >>> len(paths), y.tolist()
    (2, ['cat', 'dog'])
    """
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{str(root)!r} is not a folder of class sub-folders.")
    extensions = tuple(e.lower() for e in extensions)
    paths, labels = [], []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(class_dir.rglob("*")):
            if file.is_file() and file.suffix.lower() in extensions:
                paths.append(str(file))
                labels.append(class_dir.name)
    if not paths:
        raise ValueError(
            f"No image files ({', '.join(extensions)}) found in the class "
            f"sub-folders of {str(root)!r}."
        )
    return paths, np.asarray(labels)
