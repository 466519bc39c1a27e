"""Write logic of the human side. Views, commands and tasks call these and stay thin."""
