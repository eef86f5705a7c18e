"""nbgrader configuration of the scpviz assignments (run nbgrader from this folder, or use
``python -m scpviz assignments release``)."""
import os

c = get_config()  # noqa: F821  (provided by nbgrader)
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "scpviz"
# the gradebook lives next to this file and is not committed (.gitignore)
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db")
# a cell may train a small network: allow minutes, not nbgrader's default 30 s (a loaded 2-core CI machine)
c.Execute.timeout = 600
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
