"""zhongtai (中台): batch data governance for district and city governments."""
__version__ = "0.1.0"
