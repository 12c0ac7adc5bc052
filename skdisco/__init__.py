"""skdisco: which pre-trained model will transfer best to your data?"""

__version__ = "0.1.0.dev0"
