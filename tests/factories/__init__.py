"""The test suite's factories: users, batches written and imported, tasks, judgments made
the way annotators make them, and judged projects. One module per job:

- users.py: accounts (annotation.projects.accounts.add_user);
- batches.py: batch folders with real images, zipped or imported and processed;
- tasks.py: projects with ready tasks for the annotator-workflow tests;
- judging.py: judgments through next_assignment and submit_judgment;
- projects.py: judged projects for the export, leaderboard and agreement tests.
"""
