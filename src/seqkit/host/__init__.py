"""The plugin host: hook specifications (``hookspecs``), the host that loads plugins
(``plugins``), what they registered (``registry``), their entry points (``entry_points``), commands
built when used (``lazy_commands``, ``command_cache``) and core's own registrations (``builtins``).
"""
