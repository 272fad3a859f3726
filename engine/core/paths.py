"""Where the plugin is installed (the folder installed as `buildseg`)."""

import os

PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
