"""A cross-validation "splitter" with one split whose train and test sets are all."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils.validation import _num_samples


class WholeSetSplit(BaseCrossValidator):
    """One split in which the training and the test set are the whole data.

    Transferability scores are computed on exactly the data given -- there is
    nothing to hold out -- so model selection with ``GridSearchCV`` over
    backbones needs a single "split" that hands every sample to both ``fit``
    and ``score``. With a scorer as the last step of a pipeline, its ``score``
    then returns the value computed in ``fit`` without computing it again.

    See Also
    --------
    transferability_scorer : A ``scoring`` callable for any pipeline.
    sklearn.model_selection.PredefinedSplit : Splits given by the user.

    Notes
    -----
    Do not use this splitter to estimate the accuracy of a classifier: train
    and test are the same samples, so such an accuracy is a training accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from skdisco.selection import WholeSetSplit
    >>> cv = WholeSetSplit()
    >>> cv.get_n_splits()
    1
    >>> [(train.tolist(), test.tolist()) for train, test in cv.split(np.zeros((3, 2)))]
    [([0, 1, 2], [0, 1, 2])]
    """

    def split(self, X, y=None, groups=None):
        """Yield the single split: every index as train and as test.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Data; only its length is used.
        y : ignored
            Accepted for API compatibility.
        groups : ignored
            Accepted for API compatibility.

        Yields
        ------
        train : ndarray of shape (n_samples,)
            ``arange(n_samples)``.
        test : ndarray of shape (n_samples,)
            ``arange(n_samples)``.
        """
        n = _num_samples(X)
        if n < 1:
            raise ValueError("WholeSetSplit needs at least one sample.")
        indices = np.arange(n)
        yield indices, indices.copy()

    def _iter_test_indices(self, X=None, y=None, groups=None):
        yield np.arange(_num_samples(X))

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return 1: there is one split.

        Parameters
        ----------
        X, y, groups : ignored
            Accepted for API compatibility.

        Returns
        -------
        n_splits : int
            Always 1.
        """
        return 1

    def __repr__(self):
        return "WholeSetSplit()"
