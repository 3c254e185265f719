"""Adapters that put boxjwt's authentication inside other Box libraries.

Each adapter is its own module and imports its library only when that module is imported:
``import boxjwt`` (or ``import boxjwt.integrations``) never imports a third-party SDK.

- :mod:`boxjwt.integrations.boxsdk`: the official Box SDK (``boxsdk`` 10.x, ``box_sdk_gen``);
  install with ``pip install 'boxjwt[boxsdk]'``.
"""
